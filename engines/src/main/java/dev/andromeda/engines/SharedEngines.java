package dev.andromeda.engines;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One real PostgreSQL and one real KRaft broker per JVM, started on first use and stopped when
 * the JVM ends: what a module's integration tests share, so each test class does not pay for
 * its own engines.
 */
public final class SharedEngines {

    private SharedEngines() {}

    private static final class Pg {
        static final EmbeddedPostgresEngine PG = start();

        private static EmbeddedPostgresEngine start() {
            try {
                EmbeddedPostgresEngine pg = EmbeddedPostgresEngine.startEphemeral();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try { pg.close(); } catch (IOException ignored) { /* the JVM is ending */ }
                }, "m31-pg-stop"));
                return pg;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static final class Kafka {
        static final EmbeddedKafkaEngine KAFKA = start();

        private static EmbeddedKafkaEngine start() {
            try {
                EmbeddedKafkaEngine k = EmbeddedKafkaEngine.startEphemeral();
                Runtime.getRuntime().addShutdownHook(new Thread(k::close, "m31-kafka-stop"));
                return k;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    public static EmbeddedPostgresEngine postgres() { return Pg.PG; }

    public static EmbeddedKafkaEngine kafka() { return Kafka.KAFKA; }

    /** Spring properties pointing a service at the shared PostgreSQL (and Kafka, when asked). */
    public static Map<String, Object> springProperties(boolean withKafka) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("spring.datasource.url", postgres().jdbcUrl());
        p.put("spring.datasource.username", postgres().user());
        p.put("spring.datasource.password", postgres().password());
        if (withKafka) p.put("m31.kafka.bootstrap", kafka().bootstrapServers());
        return p;
    }
}
