package dev.andromeda.local;

import dev.andromeda.channel.ChannelServiceApplication;
import dev.andromeda.common.boot.M31Service;
import dev.andromeda.engines.EmbeddedKafkaEngine;
import dev.andromeda.engines.EmbeddedPostgresEngine;
import dev.andromeda.engines.FreePorts;
import dev.andromeda.fibril.FibrilServiceApplication;
import dev.andromeda.gateway.GatewayApplication;
import dev.andromeda.gateway.auth.Tokens;
import dev.andromeda.naming.NamingServiceApplication;
import dev.andromeda.scheduler.SchedulerServiceApplication;
import dev.andromeda.store.StoreServiceApplication;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.WebApplicationType;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A whole constellation on one machine: real PostgreSQL and Kafka (embedded unless
 * M31_POSTGRES_URL / M31_KAFKA_BOOTSTRAP name external ones), the mantle services, the fibril
 * nodes and the gateway — each its own Spring application on its own loopback port, talking to
 * the others over real HTTP and Kafka exactly as in a cluster. They share one JVM only to
 * start fast on a small machine; nothing in them knows it.
 */
public final class Constellation implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Constellation.class);

    static {
        // Several Spring applications start here at once: logging is configured once, by logback
        // itself, not re-initialised by each application as it starts.
        if (System.getProperty("org.springframework.boot.logging.LoggingSystem") == null) {
            System.setProperty("org.springframework.boot.logging.LoggingSystem", "none");
        }
        // Tomcat speaks java.util.logging; without Boot's logging system it would print to stderr.
        if (!org.slf4j.bridge.SLF4JBridgeHandler.isInstalled()) {
            org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
            org.slf4j.bridge.SLF4JBridgeHandler.install();
        }
    }

    /**
     * @param home        state directory (database, broker log, secret, token)
     * @param gatewayPort 0 for any free port
     * @param nodes       fibril node names
     * @param durable     keep data across runs with fsync on (false: throwaway, for tests)
     */
    public record Options(Path home, int gatewayPort, List<String> nodes, boolean durable) {
        public static Options forTests() throws IOException {
            Path home = Files.createTempDirectory("m31-test-");
            THROWAWAY_HOMES.add(home.toAbsolutePath());
            return new Options(home, 0, List.of("E0", "E1"), false);
        }
    }

    /** Homes made by {@link Options#forTests()}: the constellation that used one removes it when it closes. */
    private static final java.util.Set<Path> THROWAWAY_HOMES = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final Options options;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Map<String, String> urls = new LinkedHashMap<>();
    private String token;
    private String internalKey;
    private Duration startup;

    private Constellation(Options options) {
        this.options = options;
    }

    public static Constellation start(Options options) throws Exception {
        Constellation c = new Constellation(options);
        try {
            c.boot();
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    private void boot() throws Exception {
        long t0 = System.nanoTime();
        Path home = options.home().toAbsolutePath();
        Files.createDirectories(home);
        // first in, so closed last: the directory stays taken until the engines have stopped
        if (options.durable()) {
            HomeLock lock = HomeLock.acquire(home);
            synchronized (closeables) { closeables.add(lock); }
        }
        ExecutorService pool = Executors.newFixedThreadPool(4, r -> new Thread(r, "m31-boot"));
        try {
            CompletableFuture<String[]> pg = CompletableFuture.supplyAsync(uncheck(() -> postgres(home)), pool);
            CompletableFuture<String> kafka = CompletableFuture.supplyAsync(uncheck(() -> kafka(home)), pool);

            String secret = secret(home);
            String packetKey = randomKey();
            // the key services sign and verify X-M31-Identity with: new for every constellation, never on disk
            byte[] k = new byte[48];
            new SecureRandom().nextBytes(k);
            internalKey = Base64.getUrlEncoder().withoutPadding().encodeToString(k);
            int gatewayPort = options.gatewayPort() == 0 ? FreePorts.pick() : options.gatewayPort();
            for (String svc : List.of("naming", "store", "channel", "scheduler")) urls.put(svc, "http://127.0.0.1:" + FreePorts.pick());
            for (String node : options.nodes()) urls.put(node, "http://127.0.0.1:" + FreePorts.pick());
            urls.put("gateway", "http://127.0.0.1:" + gatewayPort);

            String[] db = pg.join();
            String bootstrap = kafka.join();
            log.info("engines ready in {} ms: postgres {} kafka {}", ms(t0), db[0], bootstrap);

            List<String> common = new ArrayList<>(List.of(
                    "--m31.services.naming=" + urls.get("naming"),
                    "--m31.services.store=" + urls.get("store"),
                    "--m31.services.channel=" + urls.get("channel"),
                    "--m31.services.scheduler=" + urls.get("scheduler"),
                    "--m31.services.gateway=" + urls.get("gateway"),
                    "--m31.kafka.bootstrap=" + bootstrap,
                    "--m31.auth.secret=" + secret,
                    "--m31.internal.key=" + internalKey,
                    "--spring.datasource.url=" + db[0],
                    "--spring.datasource.username=" + db[1],
                    "--spring.datasource.password=" + db[2],
                    "--spring.datasource.hikari.maximum-pool-size=6",
                    "--server.address=127.0.0.1",
                    "--spring.main.banner-mode=off"));

            // The mantle first (nodes register with naming and the scheduler when they start).
            List<CompletableFuture<Void>> mantle = List.of(
                    app(pool, NamingServiceApplication.class, NamingServiceApplication.NAME, "naming", common),
                    app(pool, StoreServiceApplication.class, StoreServiceApplication.NAME, "store", common),
                    app(pool, ChannelServiceApplication.class, ChannelServiceApplication.NAME, "channel", common),
                    app(pool, SchedulerServiceApplication.class, SchedulerServiceApplication.NAME, "scheduler", common));
            CompletableFuture.allOf(mantle.toArray(CompletableFuture[]::new)).join();

            List<CompletableFuture<Void>> rest = new ArrayList<>();
            for (String node : options.nodes()) {
                List<String> args = new ArrayList<>(common);
                args.add("--m31.node=" + node);
                args.add("--m31.self-url=" + urls.get(node));
                // migration packets between nodes are signed with a key only the nodes share
                args.add("--m31.fibril.packet-key=" + packetKey);
                rest.add(app(pool, FibrilServiceApplication.class, FibrilServiceApplication.NAME, node, args));
            }
            rest.add(start(pool, () -> M31Service.builder(GatewayApplication.class, GatewayApplication.NAME,
                    WebApplicationType.REACTIVE, Map.of()).run(withPort(common, "gateway"))));
            CompletableFuture.allOf(rest.toArray(CompletableFuture[]::new)).join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof Exception cause) throw cause;
            throw e;
        } finally {
            pool.shutdown();
        }

        token = Tokens.mint(secret(home), "admin", List.of("admin"), Duration.ofDays(30));
        Files.writeString(home.resolve("token"), token + "\n", StandardCharsets.UTF_8);
        awaitNodes(Duration.ofSeconds(60));
        startup = Duration.ofNanos(System.nanoTime() - t0);
        log.info("constellation ready in {} ms at {}", startup.toMillis(), gatewayUrl());
    }

    private String[] postgres(Path home) throws IOException {
        String url = System.getenv("M31_POSTGRES_URL");
        if (url != null && !url.isBlank()) {
            return new String[] {url, env("M31_POSTGRES_USER", "postgres"), env("M31_POSTGRES_PASSWORD", "postgres")};
        }
        EmbeddedPostgresEngine pg = options.durable()
                ? EmbeddedPostgresEngine.start(home.resolve("postgres"), true)
                : EmbeddedPostgresEngine.startEphemeral();
        synchronized (closeables) { closeables.add(pg); }
        return new String[] {pg.jdbcUrl(), pg.user(), pg.password()};
    }

    private String kafka(Path home) throws IOException {
        String bootstrap = System.getenv("M31_KAFKA_BOOTSTRAP");
        if (bootstrap != null && !bootstrap.isBlank()) return bootstrap;
        EmbeddedKafkaEngine kafka = options.durable()
                ? EmbeddedKafkaEngine.start(home.resolve("kafka"), 0)
                : EmbeddedKafkaEngine.startEphemeral();
        synchronized (closeables) { closeables.add(kafka); }
        return kafka.bootstrapServers();
    }

    private CompletableFuture<Void> app(ExecutorService pool, Class<?> app, String name, String key, List<String> common) {
        List<String> args = new ArrayList<>(common);
        // One classpath holds the gateway's jars too; only the gateway may act on them.
        args.add("--spring.cloud.gateway.server.webflux.enabled=false");
        return start(pool, () -> M31Service.builder(app, name, WebApplicationType.SERVLET, Map.of()).run(withPort(args, key)));
    }

    private String[] withPort(List<String> common, String key) {
        List<String> args = new ArrayList<>(common);
        args.add("--server.port=" + URI.create(urls.get(key)).getPort());
        return args.toArray(String[]::new);
    }

    private CompletableFuture<Void> start(ExecutorService pool, Supplier<ConfigurableApplicationContext> starter) {
        return CompletableFuture.runAsync(() -> {
            ConfigurableApplicationContext ctx = starter.get();
            synchronized (closeables) { closeables.add(ctx); }
        }, pool);
    }

    /** Ready means usable: every node has told the scheduler it is alive, seen through the gateway. */
    private void awaitNodes(Duration timeout) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + timeout.toNanos();
        String body = "";
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(gatewayUrl() + "/sched/nodes"))
                    .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
            String seen = r.body();
            body = seen;
            if (r.statusCode() == 200 && options.nodes().stream().allMatch(n -> seen.contains("\"name\":\"" + n + "\""))
                    && countAlive(seen) >= options.nodes().size()) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("nodes did not come alive in " + timeout + ": " + body);
    }

    private static int countAlive(String json) {
        int n = 0;
        for (int i = json.indexOf("\"alive\":true"); i >= 0; i = json.indexOf("\"alive\":true", i + 1)) n++;
        return n;
    }

    private String secret(Path home) throws IOException {
        Path file = home.resolve("secret");
        if (Files.exists(file)) return Files.readString(file).trim();
        byte[] b = new byte[48];
        new SecureRandom().nextBytes(b);
        String s = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
        Files.writeString(file, s);
        try {
            Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system: the directory's own permissions have to do
        }
        return s;
    }

    private static String randomKey() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    public String gatewayUrl() { return urls.get("gateway"); }

    /** The admin bearer token minted at start (also written to {@code <home>/token}). */
    public String token() { return token; }

    public String url(String serviceOrNode) { return urls.get(serviceOrNode); }

    /**
     * Signs {@code X-M31-Identity} for a request made straight to a service (not through the
     * gateway), as {@code who}: what a benchmark or a test needs to call a service directly.
     */
    public dev.andromeda.common.security.InternalIdentity internalIdentity() {
        return new dev.andromeda.common.security.InternalIdentity(internalKey, Duration.ofSeconds(30));
    }

    public Duration startupTime() { return startup; }

    public Path home() { return options.home(); }

    @Override
    public void close() {
        List<AutoCloseable> all;
        synchronized (closeables) { all = new ArrayList<>(closeables); }
        // Stop in reverse: gateway and nodes first, engines last.
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                all.get(i).close();
            } catch (Exception e) {
                log.warn("while stopping {}: {}", all.get(i).getClass().getSimpleName(), e.toString());
            }
        }
        Path home = options.home().toAbsolutePath();
        if (THROWAWAY_HOMES.remove(home)) {
            try (var files = Files.walk(home)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException e) {
                log.debug("cannot remove {}: {}", home, e.toString());
            }
        }
    }

    private static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? dflt : v;
    }

    private static long ms(long t0) { return (System.nanoTime() - t0) / 1_000_000; }

    private static <T> Supplier<T> uncheck(java.util.concurrent.Callable<T> c) {
        return () -> {
            try {
                return c.call();
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        };
    }
}
