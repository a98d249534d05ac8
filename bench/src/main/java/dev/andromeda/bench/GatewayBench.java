package dev.andromeda.bench;

import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.InternalIdentity;
import dev.andromeda.local.Constellation;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway's overhead: {@code GET /fs/{space}/{key}} through the gateway (bearer token
 * verified, path checked, identity signed, routed) beside the same request straight to
 * store-service (with the signed X-M31-Identity header it needs, made by common's signer), same
 * client, same concurrency, same run, at each concurrency level given:
 * {@code bench/run gateway [requests] [levels, default 1,8]}.
 * Prints a table and writes bench/results/gateway.json.
 */
public final class GatewayBench {

    record Run(String name, double p50Ms, double p99Ms, double meanMs, double perSec, int requests) {}

    public static void main(String[] args) throws Exception {
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int[] levels = Arrays.stream((args.length > 1 ? args[1] : "1,8").split(",")).mapToInt(Integer::parseInt).toArray();
        try (Constellation c = Constellation.start(Constellation.Options.forTests())) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            String gateway = c.gatewayUrl();
            String store = c.url("store");
            String token = "Bearer " + c.token();
            // one space, one small object
            send(http, HttpRequest.newBuilder(URI.create(gateway + "/fs/bench_gw")).header("Authorization", token)
                    .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString("{\"key\":\"k\",\"attrs\":{\"n\":\"Int\"}}")).build(), 201, 200, 409);
            send(http, HttpRequest.newBuilder(URI.create(gateway + "/fs/bench_gw/one")).header("Authorization", token)
                    .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString("{\"attrs\":{\"n\":1}}")).build(), 201, 200);

            InternalIdentity signer = c.internalIdentity();
            Caller admin = Caller.of("admin", List.of("admin"));
            String path = "/fs/bench_gw/one";
            Function<Integer, HttpRequest> viaGateway = i -> HttpRequest.newBuilder(URI.create(gateway + path))
                    .header("Authorization", token).GET().build();
            Function<Integer, HttpRequest> direct = i -> HttpRequest.newBuilder(URI.create(store + path))
                    .header(InternalIdentity.HEADER, signer.sign(admin, "GET", path)).GET().build();

            Map<String, Object> out = new LinkedHashMap<>();
            out.put("benchmark", "gateway");
            out.put("when", Instant.now().toString());
            out.put("request", "GET /fs/{space}/{key}");
            out.put("requests", requests);
            out.put("cores", Runtime.getRuntime().availableProcessors());
            // the machine may be shared: its load says how much the figures can be trusted
            var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            out.put("loadAverageAtStart", os.getSystemLoadAverage());
            out.put("targetP50OverheadMs", 1.0);
            out.put("note", "one JVM runs the client, the gateway, store-service and PostgreSQL's clients on the same cores; "
                    + "the direct path signs X-M31-Identity on the client (HMAC-SHA256, counted in its latency)");
            List<Map<String, Object>> byLevel = new java.util.ArrayList<>();
            for (int concurrency : levels) {
                // warm both paths (JIT, connection pools), then measure alternately, twice, keep the second
                measure("warm gateway", http, viaGateway, Math.min(requests, 3_000), concurrency);
                measure("warm direct", http, direct, Math.min(requests, 3_000), concurrency);
                measure("gateway", http, viaGateway, requests, concurrency);
                measure("direct", http, direct, requests, concurrency);
                Run gw = measure("gateway", http, viaGateway, requests, concurrency);
                Run st = measure("direct", http, direct, requests, concurrency);

                System.out.printf("%nGET /fs/{space}/{key}, %d requests, %d concurrent, loopback%n", requests, concurrency);
                System.out.printf("%-34s %9s %9s %9s %11s%n", "", "p50 ms", "p99 ms", "mean ms", "req/s");
                for (Run r : List.of(st, gw)) {
                    System.out.printf("%-34s %9.3f %9.3f %9.3f %11.0f%n", r.name().equals("direct") ? "straight to store-service (signed)" : "through the gateway",
                            r.p50Ms(), r.p99Ms(), r.meanMs(), r.perSec());
                }
                double overheadP50 = gw.p50Ms() - st.p50Ms();
                System.out.printf("gateway overhead: p50 %+.3f ms, p99 %+.3f ms, throughput x%.2f (target: p50 overhead under 1 ms)%n",
                        overheadP50, gw.p99Ms() - st.p99Ms(), gw.perSec() / st.perSec());
                Map<String, Object> level = new LinkedHashMap<>();
                level.put("concurrency", concurrency);
                level.put("direct", st);
                level.put("gateway", gw);
                level.put("overheadP50Ms", overheadP50);
                level.put("overheadP99Ms", gw.p99Ms() - st.p99Ms());
                level.put("throughputRatio", gw.perSec() / st.perSec());
                byLevel.add(level);
            }
            out.put("levels", byLevel);
            out.put("loadAverageAtEnd", os.getSystemLoadAverage());
            Path results = Path.of("bench/results");
            Files.createDirectories(results);
            Files.writeString(results.resolve("gateway.json"), JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValueAsString(out));
        }
        System.exit(0);
    }

    private static void send(HttpClient http, HttpRequest r, int... ok) throws Exception {
        HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
        if (Arrays.stream(ok).noneMatch(s -> s == resp.statusCode())) {
            throw new IllegalStateException(r.method() + " " + r.uri() + " -> " + resp.statusCode() + " " + resp.body());
        }
    }

    private static Run measure(String name, HttpClient http, Function<Integer, HttpRequest> make, int n, int concurrency) throws Exception {
        long[] lat = new long[n];
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        long t0 = System.nanoTime();
        List<Future<?>> fs = new java.util.ArrayList<>();
        for (int w = 0; w < concurrency; w++) {
            fs.add(pool.submit(() -> {
                for (int i; (i = next.getAndIncrement()) < n; ) {
                    HttpRequest req = make.apply(i);
                    long s = System.nanoTime();
                    HttpResponse<byte[]> r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
                    lat[i] = System.nanoTime() - s;
                    if (r.statusCode() != 200) throw new IllegalStateException(name + ": " + r.statusCode() + " " + new String(r.body()));
                }
                return null;
            }));
        }
        for (Future<?> f : fs) f.get();
        double secs = (System.nanoTime() - t0) / 1e9;
        pool.shutdown();
        Arrays.sort(lat);
        double mean = Arrays.stream(lat).average().orElse(0) / 1e6;
        return new Run(name, lat[(int) (n * 0.50)] / 1e6, lat[Math.min(n - 1, (int) (n * 0.99))] / 1e6, mean, n / secs, n);
    }
}
