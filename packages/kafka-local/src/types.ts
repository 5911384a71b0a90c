export interface SaslUser {
  readonly username: string;
  readonly password: string;
}

/** Everything that decides where and how the local broker runs. */
export interface KafkaLocalOptions {
  /** Apache Kafka version, an `org.apache.kafka:kafka_2.13` release on Maven Central. */
  readonly kafkaVersion: string;
  /** Cache folder: the broker's jars, one folder per version. */
  readonly home: string;
  /** The running broker's configuration, data, log and state file. */
  readonly runDir: string;
  readonly host: string;
  readonly plaintextPort: number;
  readonly saslPort: number;
  readonly controllerPort: number;
  readonly readyTimeoutMs: number;
  readonly heap: string;
  readonly javaCommand: string;
  readonly mavenCommand: string;
  /** A Maven settings.xml, for a mirror of Maven Central. */
  readonly mavenSettings: string | undefined;
  /** A Maven local repository other than ~/.m2/repository. */
  readonly mavenLocalRepo: string | undefined;
  readonly plainUser: SaslUser;
  readonly scramUser: SaslUser;
}

/** How clients reach a running local broker. */
export interface KafkaConnection {
  readonly brokers: string[];
  readonly saslBrokers: string[];
  readonly plainUser: SaslUser;
  readonly scramUser: SaslUser;
}

/** What `start` leaves on disk so that later commands find (and only ever stop) our own broker. */
export interface BrokerState {
  readonly pid: number;
  readonly kafkaVersion: string;
  readonly propertiesPath: string;
  readonly logPath: string;
  readonly startedAt: string;
  readonly connection: KafkaConnection;
}
