package dev.andromeda.bench;

import dev.andromeda.fibril.effects.EffectCombiner;
import dev.andromeda.fibril.mantle.Mantle;
import dev.andromeda.fibril.nucleus.Fibril;
import dev.andromeda.fibril.nucleus.FibrilSettings;
import dev.andromeda.fibril.nucleus.Nucleus;
import dev.andromeda.fibril.nucleus.Program;
import dev.andromeda.fibril.nucleus.SpawnSpec;
import dev.andromeda.local.Constellation;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * The nucleus's costs, each beside a baseline from the same run: {@code bench/run fibril [parked]}.
 * <ul>
 * <li>local spawn-to-exit per fibril (a nucleus in this process) vs a Java virtual thread started and joined;</li>
 * <li>heap per parked fibril, with {@code parked} (default 100,000) parked on one nucleus;</li>
 * <li>remote spawn p50/p99 through the gateway of a local constellation, beside a plain gateway round trip;</li>
 * <li>migration p50/p99 of a fibril holding ~10 KB of state between E0 and E1, beside the remote spawn.</li>
 * </ul>
 * Prints a table and writes bench/results/fibril.json.
 */
public final class FibrilBench {

    static final JsonMapper JSON = JsonMapper.builder().build();
    static final JsonNodeFactory F = JsonNodeFactory.instance;

    public static void main(String[] args) throws Exception {
        int parked = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("benchmark", "fibril");
        out.put("when", Instant.now().toString());
        out.put("cores", Runtime.getRuntime().availableProcessors());

        // --- local: spawn to exit, and parked memory -----------------------------------------
        FibrilSettings settings = new FibrilSettings();
        settings.setCheckpoints(false);
        settings.setKeepEnded(1000);
        Mantle mantle = new NullMantle();
        EffectCombiner combiner = new EffectCombiner(mantle, "B0", settings.getFlushInterval(), settings.getFlushMaxEntries());
        Nucleus nucleus = new Nucleus("B0", settings, mantle, combiner);
        int n = 20_000;
        spawnAndJoin(nucleus, n); // warm-up
        double fibrilUs = spawnAndJoin(nucleus, n) * 1e6 / n;
        virtualThreads(n);
        double vtUs = virtualThreads(n) * 1e6 / n;

        System.gc();
        Thread.sleep(200);
        System.gc();
        long heap0 = heapUsed();
        List<Fibril> sleepers = new ArrayList<>(parked);
        for (int i = 0; i < parked; i++) sleepers.add(spawn(nucleus, "require('sys').sleep(600000)"));
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        for (Fibril f : sleepers) {
            while (f.state() != Fibril.State.PARKED && System.nanoTime() < deadline) Thread.sleep(1);
        }
        System.gc();
        Thread.sleep(200);
        System.gc();
        long heap1 = heapUsed();
        double perParked = (heap1 - heap0) / (double) parked;
        nucleus.close();
        combiner.close();
        sleepers.clear();

        // --- remote: spawn and migration through a constellation -------------------------------
        Constellation c = Constellation.start(Constellation.Options.forTests());
        double[] spawnMs;
        double[] rttMs;
        double[] moveMs;
        int packetBytes = 0;
        try {
            Remote r = new Remote(c.gatewayUrl(), c.token());
            for (int i = 0; i < 30; i++) r.spawn("1", "E0");
            rttMs = new double[300];
            for (int i = 0; i < rttMs.length; i++) rttMs[i] = r.timed("GET", "/net", null);
            spawnMs = new double[300];
            for (int i = 0; i < spawnMs.length; i++) {
                long t0 = System.nanoTime();
                r.spawn("1", i % 2 == 0 ? "E0" : "E1");
                spawnMs[i] = (System.nanoTime() - t0) / 1e6;
            }
            String holder = """
                    var sys = require('sys'), st = {pad: new Array(10001).join('x'), n: 0};
                    while (true) { st.n++; sys.sleep(50); }
                    """;
            String id = r.spawn(holder, "E0");
            Thread.sleep(300);
            int moves = 60;
            moveMs = new double[moves];
            String at = "E0";
            for (int i = 0; i < moves; i++) {
                String to = at.equals("E0") ? "E1" : "E0";
                long t0 = System.nanoTime();
                HttpResponse<String> res = r.call("PUT", "/fibrils/" + id + "/node?wait=30", "{\"node\":\"" + to + "\"}");
                moveMs[i] = (System.nanoTime() - t0) / 1e6;
                if (res.statusCode() != 200) throw new IllegalStateException("move " + i + ": " + res.statusCode() + " " + res.body());
                at = to;
            }
            JsonNode cp = JSON.readTree(r.call("GET", "/fs/sys_fibrils/" + id, null).body());
            packetBytes = cp.path("attrs").path("packet").path("state").asString().length() * 3 / 4;
            r.call("DELETE", "/fibrils/" + id, null);
        } finally {
            c.close();
        }

        System.out.println();
        System.out.printf("%-48s %14s %22s%n", "fibril", "M31", "baseline (same run)");
        System.out.printf("%-48s %11.2f µs %19.2f µs%n", "local spawn-to-exit per fibril / virtual thread", fibrilUs, vtUs);
        System.out.printf("%-48s %11.0f  B %19s%n", "heap per parked fibril (" + parked + " parked)", perParked, "Erlang ~2.6 KB");
        System.out.printf("%-48s %11.1f MB%n", "heap for " + parked + " parked fibrils", (heap1 - heap0) / 1e6);
        System.out.printf("%-48s %11.2f ms %19.2f ms%n", "remote spawn p50 / gateway round trip p50", pct(spawnMs, 50), pct(rttMs, 50));
        System.out.printf("%-48s %11.2f ms %19.2f ms%n", "remote spawn p99 / gateway round trip p99", pct(spawnMs, 99), pct(rttMs, 99));
        System.out.printf("%-48s %11.2f ms %19s%n", "migration p50 (10 KB state, E0<->E1)", pct(moveMs, 50), "spawn p50 above");
        System.out.printf("%-48s %11.2f ms%n", "migration p99", pct(moveMs, 99));
        System.out.printf("%-48s %11d  B%n", "migration packet (serialized state)", packetBytes);
        System.out.println("reference points (literature, not measured here): Erlang spawn ~1 µs, process 2.6 KB; Ray task ~1 ms");

        out.put("localSpawnToExitMicros", fibrilUs);
        out.put("virtualThreadStartJoinMicros", vtUs);
        out.put("parkedFibrils", parked);
        out.put("heapPerParkedFibrilBytes", perParked);
        out.put("heapForParkedBytes", heap1 - heap0);
        out.put("remoteSpawnP50Ms", pct(spawnMs, 50));
        out.put("remoteSpawnP99Ms", pct(spawnMs, 99));
        out.put("gatewayRoundTripP50Ms", pct(rttMs, 50));
        out.put("gatewayRoundTripP99Ms", pct(rttMs, 99));
        out.put("migrationP50Ms", pct(moveMs, 50));
        out.put("migrationP99Ms", pct(moveMs, 99));
        out.put("migrationPacketBytes", packetBytes);
        Path results = Path.of("bench/results");
        Files.createDirectories(results);
        Files.writeString(results.resolve("fibril.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        System.exit(0);
    }

    static Fibril spawn(Nucleus n, String script) {
        return n.spawn(new SpawnSpec(Program.Kind.SCRIPT, script, null, F.arrayNode(), F.objectNode(), null, null, null));
    }

    /** Seconds to spawn {@code n} fibrils that end at once and see every one end. */
    static double spawnAndJoin(Nucleus nucleus, int n) throws Exception {
        long t0 = System.nanoTime();
        CompletableFuture<?>[] ends = new CompletableFuture<?>[n];
        for (int i = 0; i < n; i++) ends[i] = spawn(nucleus, "1").end();
        CompletableFuture.allOf(ends).get(5, TimeUnit.MINUTES);
        return (System.nanoTime() - t0) / 1e9;
    }

    static double virtualThreads(int n) throws Exception {
        long t0 = System.nanoTime();
        Thread[] ts = new Thread[n];
        for (int i = 0; i < n; i++) ts[i] = Thread.startVirtualThread(() -> { });
        for (Thread t : ts) t.join();
        return (System.nanoTime() - t0) / 1e9;
    }

    static long heapUsed() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    static double pct(double[] xs, int p) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1)];
    }

    /** The gateway, with the admin token. */
    record Remote(String gateway, String token) {
        static final HttpClient HTTP = HttpClient.newHttpClient();

        HttpResponse<String> call(String method, String path, String body) throws Exception {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway + path)).timeout(Duration.ofSeconds(90))
                    .header("Authorization", "Bearer " + token)
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
            if (body != null) b.header("Content-Type", "application/json");
            return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        }

        double timed(String method, String path, String body) throws Exception {
            long t0 = System.nanoTime();
            HttpResponse<String> r = call(method, path, body);
            if (r.statusCode() >= 400) throw new IllegalStateException(path + ": " + r.statusCode() + " " + r.body());
            return (System.nanoTime() - t0) / 1e6;
        }

        String spawn(String script, String node) throws Exception {
            String body = JSON.writeValueAsString(Map.of("source", script, "node", node));
            HttpResponse<String> r = call("POST", "/fibrils", body);
            if (r.statusCode() != 201) throw new IllegalStateException("spawn: " + r.statusCode() + " " + r.body());
            return JSON.readTree(r.body()).path("id").asString();
        }
    }

    /** A mantle that answers everything at once: the local figures measure the nucleus alone. */
    static final class NullMantle implements Mantle {
        @Override public CompletableFuture<String> alias(String name) { return CompletableFuture.completedFuture(null); }
        @Override public CompletableFuture<JsonNode> kill(String node, String id) { return CompletableFuture.completedFuture(null); }
        static <T> CompletableFuture<T> done(T v) { return CompletableFuture.completedFuture(v); }
        @Override public CompletableFuture<String> putCode(String source) { return done("x"); }
        @Override public CompletableFuture<String> getCode(String fingerprint) { return CompletableFuture.failedFuture(new IllegalStateException("none")); }
        @Override public CompletableFuture<JsonNode> makeSpace(String space, JsonNode spec) { return done(null); }
        @Override public CompletableFuture<List<SpaceInfo>> listSpaces(String keyAttr) { return done(List.of()); }
        @Override public CompletableFuture<JsonNode> getObject(String space, String key) { return done(null); }
        @Override public CompletableFuture<JsonNode> putObject(String space, String key, JsonNode write) { return done(null); }
        @Override public CompletableFuture<JsonNode> query(String space, List<Map.Entry<String, String>> params) { return done(F.arrayNode()); }
        @Override public CompletableFuture<JsonNode> invoke(String space, JsonNode batch) { return done(null); }
        @Override public CompletableFuture<Opened> openChannel(JsonNode spec) { return done(new Opened("ch", null, null)); }
        @Override public CompletableFuture<JsonNode> describeChannel(String channel, String cap) { return done(F.objectNode().put("mode", "async")); }
        @Override public CompletableFuture<JsonNode> send(String channel, String cap, JsonNode value, String key, int syncWait) { return done(F.objectNode()); }
        @Override public CompletableFuture<JsonNode> sendBatch(String channel, String cap, List<JsonNode> values, String key) { return done(F.objectNode()); }
        @Override public CompletableFuture<Received> receive(String channel, String cap, int waitSeconds, int max, int lease, long ackUpTo, long ackLease) { return new CompletableFuture<>(); }
        @Override public CompletableFuture<Long> ack(String channel, String cap, long upTo, boolean release, long leaseId) { return done(upTo); }
        @Override public CompletableFuture<Void> closeChannel(String channel, String cap) { return done(null); }
        @Override public CompletableFuture<Void> bind(String id, String kind) { return done(null); }
        @Override public CompletableFuture<JsonNode> spawn(JsonNode request) { return CompletableFuture.failedFuture(new IllegalStateException("no scheduler")); }
        @Override public CompletableFuture<Void> heartbeat(int fibrils) { return done(null); }
        @Override public CompletableFuture<Long> rebind(String id, String kind) { return done(1L); }
        @Override public CompletableFuture<JsonNode> lookup(String id) { return done(null); }
        @Override public CompletableFuture<JsonNode> deliver(String node, JsonNode packet) { return CompletableFuture.failedFuture(new IllegalStateException("alone")); }
        @Override public CompletableFuture<Map<String, String>> nodes() { return done(Map.of()); }
        @Override public CompletableFuture<JsonNode> nodeFibrils(String url, String state) { return done(F.objectNode()); }
    }
}
