#!/usr/bin/env bash
# Registers graph2kafka's Entra app (needed on either cloud) with az: the app and its service principal, the
# Graph application permission of each resource kind (--kinds, default events: Calendars.Read; messages:
# Mail.Read; contacts: Contacts.Read; users: User.Read.All; groups: Group.Read.All; channelMessages:
# ChannelMessage.Read.All; chatMessages: Chat.Read.All; chats: Chat.ReadBasic.All — the two message permissions
# are Teams protected APIs: Microsoft must also approve the app's request, see docs/teams.md; GroupMember.Read.All with
# --groups, for desired-state groups; Place.Read.All and User.ReadBasic.All with --rooms, for desired-state rooms:
# the Places API lists them, and each room's mailbox id is read from its address), admin consent, and a client
# secret. --multi-tenant registers it for several tenants (each admin consents, see infra/README.md). The secret
# alone goes to standard output, to pipe straight into a vault:
#
#   infra/entra/register-app.sh [--dry-run] [--groups] [--rooms] [--kinds K,…] [--multi-tenant] [--years N] NAME | infra/azure/deploy.sh secret azure-client-secret
#   infra/entra/register-app.sh [--dry-run] [--groups] [--rooms] [--kinds K,…] [--multi-tenant] [--years N] NAME | infra/gcp/deploy.sh secret g2k-azure-client-secret
#
# The tenant and client ids to configure (AZURE_TENANT_ID, AZURE_CLIENT_ID) are printed on standard error.
# Run it as a Global Administrator or Privileged Role Administrator (admin consent needs one).
set -euo pipefail

dry_run=false
groups=false
rooms=false
years=1
kinds=events
audience=AzureADMyOrg
# The comment block at the top of this file, without its '#'s: what --help prints, and a wrong call on stderr.
usage() {
  sed -n '2,/^[^#]/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}
usage_error() {
  usage >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=true; shift ;;
    --groups) groups=true; shift ;;
    --rooms) rooms=true; shift ;;
    --kinds) kinds=${2:?--kinds needs events, messages, contacts, users, groups, channelMessages, chatMessages and/or chats}; shift 2 ;;
    --multi-tenant) audience=AzureADMultipleOrgs; shift ;;
    --years) years=${2:?--years needs a number}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "unknown option $1" >&2; usage_error ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || usage_error
name=$1

GRAPH=00000003-0000-0000-c000-000000000000
CALENDARS_READ=798ee544-9d2d-430c-a058-570e29e34338
MAIL_READ=810c84a8-4a9e-49e6-bf7d-12d183f40d01
CONTACTS_READ=089fe4d0-434a-44c5-8827-41ba8a0b17f5
USER_READ_ALL=df021288-bdef-4463-88db-98f22de89214
GROUP_READ_ALL=5b567255-7703-4780-807c-7be8301ae99b
GROUP_MEMBER_READ_ALL=98830695-27a2-44f7-8c18-0c3ebc9698f6
PLACE_READ_ALL=913b9306-0ce1-42b8-9137-6a7df690a760
USER_READ_BASIC_ALL=97235f07-e226-4f63-ace3-39588e11d3a1
CHANNEL_MESSAGE_READ_ALL=7b2449af-6ccd-4f4d-9f78-e550c193f0d1
CHAT_READ_ALL=6b7d71aa-70aa-4810-a8d9-5d9fb2830017
CHAT_READ_BASIC_ALL=b2e060da-3baf-4687-9611-f4ebc0f0cbde
permissions=()
IFS=, read -r -a kind_list <<<"$kinds"
for kind in "${kind_list[@]}"; do
  case "$kind" in
    events) permissions+=("$CALENDARS_READ=Role") ;;
    messages) permissions+=("$MAIL_READ=Role") ;;
    contacts) permissions+=("$CONTACTS_READ=Role") ;;
    users) permissions+=("$USER_READ_ALL=Role") ;;
    groups) permissions+=("$GROUP_READ_ALL=Role") ;;
    channelMessages) permissions+=("$CHANNEL_MESSAGE_READ_ALL=Role") ;;
    chatMessages) permissions+=("$CHAT_READ_ALL=Role") ;;
    chats) permissions+=("$CHAT_READ_BASIC_ALL=Role") ;;
    *) echo "unknown kind '$kind' in --kinds: use events, messages, contacts, users, groups, channelMessages, chatMessages and/or chats" >&2; exit 2 ;;
  esac
done

# Commands go to standard error: standard output carries the secret only.
run() {
  {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  } >&2
  if [ "$dry_run" = false ]; then "$@"; fi
}
capture() {
  {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  } >&2
  if [ "$dry_run" = true ]; then printf '<%s>' "${placeholder:-output}"; else "$@"; fi
}

placeholder=tenant-id tenant=$(capture az account show --query tenantId --output tsv)
placeholder=app-id app_id=$(capture az ad app create --display-name "$name" --sign-in-audience "$audience" \
  --query appId --output tsv)
run az ad sp create --id "$app_id" --output none
[ "$groups" = false ] || permissions+=("$GROUP_MEMBER_READ_ALL=Role")
[ "$rooms" = false ] || permissions+=("$PLACE_READ_ALL=Role" "$USER_READ_BASIC_ALL=Role")
run az ad app permission add --id "$app_id" --api "$GRAPH" --api-permissions "${permissions[@]}"
run az ad app permission admin-consent --id "$app_id"
echo "AZURE_TENANT_ID=$tenant" >&2
echo "AZURE_CLIENT_ID=$app_id" >&2
if [ "$audience" = AzureADMultipleOrgs ]; then
  echo "Each customer tenant's admin consents at https://login.microsoftonline.com/<their tenant id>/adminconsent?client_id=$app_id" >&2
fi
# The secret's expiry is your rotation date: put it in the calendar (docs/runbook.md#client-secret-expires).
placeholder=client-secret secret=$(capture az ad app credential reset --id "$app_id" --display-name graph2kafka \
  --years "$years" --append --query password --output tsv)
printf '%s\n' "$secret"
