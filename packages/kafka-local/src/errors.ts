/** Why the local broker could not be provided; `message` always says what to do about it. */
export type KafkaLocalErrorCode =
  | 'JAVA_MISSING'
  | 'JAVA_TOO_OLD'
  | 'MAVEN_MISSING'
  | 'MAVEN_FETCH_FAILED'
  | 'PORT_IN_USE'
  | 'BROKER_EXITED'
  | 'BROKER_NOT_READY'
  | 'NOT_CONFIGURED';

export class KafkaLocalError extends Error {
  readonly code: KafkaLocalErrorCode;

  constructor(code: KafkaLocalErrorCode, message: string) {
    super(message);
    this.name = 'KafkaLocalError';
    this.code = code;
  }
}
