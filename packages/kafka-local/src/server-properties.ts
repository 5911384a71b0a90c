import type { KafkaLocalOptions } from './types.ts';

/** Renders the broker+controller configuration of a single KRaft node on loopback. */
export function renderServerProperties(options: KafkaLocalOptions, dataDir: string): string {
  const { host, plaintextPort, saslPort, controllerPort, plainUser } = options;
  const plainJaas = `org.apache.kafka.common.security.plain.PlainLoginModule required user_${plainUser.username}="${plainUser.password}";`;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${controllerPort}`,
    `listeners=PLAINTEXT://${host}:${plaintextPort},SASL_PLAINTEXT://${host}:${saslPort},CONTROLLER://${host}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${plaintextPort},SASL_PLAINTEXT://${host}:${saslPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'auto.create.topics.enable=true',
    'offsets.topic.replication.factor=1',
    // Fewer internal partitions than the production default of 50: the first consumer group joins in ms, not s.
    'offsets.topic.num.partitions=5',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=5',
    'group.initial.rebalance.delay.ms=0',
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512',
    `listener.name.sasl_plaintext.plain.sasl.jaas.config=${plainJaas}`,
    'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    '',
  ].join('\n');
}

export const LOG4J_PROPERTIES = [
  'log4j.rootLogger=WARN, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka.server.BrokerServer=INFO',
  'log4j.logger.kafka.server.ControllerServer=INFO',
  '',
].join('\n');
