package dev.andromeda.engines;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * A real PostgreSQL server (zonky's packaged binaries) run as a child process. The local
 * constellation keeps users' data, so durability settings are turned back on unless a test
 * asks for a throwaway server.
 */
public final class EmbeddedPostgresEngine implements AutoCloseable {

    public static final String DATABASE = "m31";

    private final EmbeddedPostgres pg;

    private EmbeddedPostgresEngine(EmbeddedPostgres pg) {
        this.pg = pg;
    }

    /**
     * @param dataDir where the cluster lives; kept across starts when {@code durable}
     * @param durable fsync and synchronous_commit on (the local constellation) or off (tests)
     */
    public static EmbeddedPostgresEngine start(Path dataDir, boolean durable) throws IOException {
        Files.createDirectories(dataDir);
        EmbeddedPostgres.Builder b = EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(!durable)
                .setPGStartupWait(Duration.ofSeconds(60))
                .setServerConfig("max_connections", "300")
                .setServerConfig("shared_buffers", "128MB");
        if (durable) {
            b.setServerConfig("fsync", "on").setServerConfig("synchronous_commit", "on").setServerConfig("full_page_writes", "on");
        }
        EmbeddedPostgresEngine engine = new EmbeddedPostgresEngine(b.start());
        engine.createDatabase();
        return engine;
    }

    /** A throwaway server in a fresh temporary directory, for tests. */
    public static EmbeddedPostgresEngine startEphemeral() throws IOException {
        return start(Files.createTempDirectory("m31-pg-"), false);
    }

    private void createDatabase() throws IOException {
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("select 1 from pg_database where datname = '" + DATABASE + "'")) {
                if (rs.next()) return;
            }
            st.execute("create database " + DATABASE);
        } catch (SQLException e) {
            throw new IOException("cannot create database " + DATABASE, e);
        }
    }

    public int port() { return pg.getPort(); }

    public String jdbcUrl() { return "jdbc:postgresql://localhost:" + pg.getPort() + "/" + DATABASE; }

    public String user() { return "postgres"; }

    public String password() { return "postgres"; }

    @Override
    public void close() throws IOException {
        pg.close();
    }
}
