/**
 * A pom that only declares the broker, so that `mvn dependency:copy-dependencies` puts the broker and its
 * runtime dependencies in one folder for `java -cp`. Nothing is built from it.
 */
export function renderPom(kafkaVersion: string): string {
  // Kafka 4 logs through log4j2 (pulled in by the broker); 3.x through slf4j 1.7 and needs a log4j-1 backend beside it.
  const major = Number(kafkaVersion.split('.')[0]);
  const logging =
    major >= 4
      ? ''
      : `
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>1.7.36</version>
    </dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.graph2kafka</groupId>
  <artifactId>kafka-local-broker</artifactId>
  <version>0.0.0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>${kafkaVersion}</version>
    </dependency>${logging}
  </dependencies>
</project>
`;
}
