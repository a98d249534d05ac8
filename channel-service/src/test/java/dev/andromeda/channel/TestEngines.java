package dev.andromeda.channel;

import dev.andromeda.engines.EmbeddedKafkaEngine;
import dev.andromeda.engines.EmbeddedPostgresEngine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/** One real PostgreSQL and one real KRaft broker per test JVM, started on first use. */
final class TestEngines {

    private TestEngines() {}

    private static final class Holder {
        static final EmbeddedPostgresEngine PG = startPg();
        static final EmbeddedKafkaEngine KAFKA = startKafka();

        private static EmbeddedPostgresEngine startPg() {
            try {
                return EmbeddedPostgresEngine.startEphemeral();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static EmbeddedKafkaEngine startKafka() {
            try {
                return EmbeddedKafkaEngine.startEphemeral();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static EmbeddedPostgresEngine postgres() { return Holder.PG; }

    static EmbeddedKafkaEngine kafka() { return Holder.KAFKA; }

    /** What a channel service needs to run on the test engines. */
    static Map<String, Object> properties() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("spring.datasource.url", postgres().jdbcUrl());
        p.put("spring.datasource.username", postgres().user());
        p.put("spring.datasource.password", postgres().password());
        p.put("m31.kafka.bootstrap", kafka().bootstrapServers());
        return p;
    }
}
