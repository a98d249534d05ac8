package dev.andromeda.scheduler;

import dev.andromeda.engines.EmbeddedPostgresEngine;
import java.io.IOException;
import java.io.UncheckedIOException;

/** One real PostgreSQL per test JVM, started on first use. */
final class TestEngines {

    private TestEngines() {}

    private static final class Holder {
        static final EmbeddedPostgresEngine PG = start();

        private static EmbeddedPostgresEngine start() {
            try {
                return EmbeddedPostgresEngine.startEphemeral();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static EmbeddedPostgresEngine postgres() { return Holder.PG; }
}
