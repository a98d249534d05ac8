package dev.andromeda.bench;

import dev.andromeda.engines.EmbeddedPostgresEngine;
import dev.andromeda.local.Constellation;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import tools.jackson.databind.json.JsonMapper;

/**
 * The store beside raw PostgreSQL on the same database in the same run: {@code bench/run store}.
 * <ul>
 *   <li>increments/s through the batch invoke API (combined, idempotent) vs raw JDBC doing the
 *       same increments, both as per-row batched upserts and combined into one unnest upsert;</li>
 *   <li>secondary-attribute range queries of 100, 1,000 and 10,000 of 1,000,000 objects: p50/p99
 *       through the API vs the same SQL over JDBC, and vs a space without the attribute's index;</li>
 *   <li>a single-object GET direct to store-service beside the same lookup over JDBC (the HTTP
 *       hop), and through the gateway.</li>
 * </ul>
 * Prints a table and writes bench/results/store.json. The constellation reads its database from
 * the environment, so the bench starts PostgreSQL, then runs itself again in a child JVM with
 * {@code M31_POSTGRES_URL} pointing at it, and both the constellation and the raw baselines use it.
 */
public final class StoreBench {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    public static void main(String[] args) throws Exception {
        if (System.getenv("M31_POSTGRES_URL") == null) {
            try (EmbeddedPostgresEngine pg = EmbeddedPostgresEngine.startEphemeral()) {
                List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx4g", "-cp", System.getProperty("java.class.path")));
                // the JDK-specific flags bench/run gives this JVM (native access on JDK 24+), to the child too
                String jvmFlags = System.getenv("M31_JVM_FLAGS");
                if (jvmFlags != null && !jvmFlags.isBlank()) cmd.addAll(Arrays.asList(jvmFlags.trim().split("\\s+")));
                // the measuring JVM is this child: a profiler's options go to it (M31_BENCH_CHILD_JVM_OPTS)
                String childOpts = System.getenv("M31_BENCH_CHILD_JVM_OPTS");
                if (childOpts != null && !childOpts.isBlank()) cmd.addAll(Arrays.asList(childOpts.trim().split("\\s+")));
                cmd.add(StoreBench.class.getName());
                cmd.addAll(Arrays.asList(args));
                ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
                pb.environment().put("M31_POSTGRES_URL", pg.jdbcUrl());
                pb.environment().put("M31_POSTGRES_USER", pg.user());
                pb.environment().put("M31_POSTGRES_PASSWORD", pg.password());
                System.exit(pb.start().waitFor());
            }
        }
        int objects = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        String parts = args.length > 1 ? args[1] : "increments,query,get"; // a subset while iterating
        new StoreBench().run(objects, List.of(parts.split(",")));
    }

    private String gateway, direct, token;
    private KeepAliveHttp directInvokes, gatewayInvokes;
    /** Requests straight to store-service carry the identity the gateway would have signed. */
    private dev.andromeda.common.security.InternalIdentity signer;
    private static final dev.andromeda.common.security.Caller ADMIN =
            dev.andromeda.common.security.Caller.of("admin", java.util.List.of("admin"));
    private final Map<String, Object> out = new LinkedHashMap<>();

    private void run(int objects, List<String> parts) throws Exception {
        String url = System.getenv("M31_POSTGRES_URL");
        String user = System.getenv("M31_POSTGRES_USER"), password = System.getenv("M31_POSTGRES_PASSWORD");
        try (Constellation c = Constellation.start(Constellation.Options.forTests());
             Connection db = DriverManager.getConnection(url, user, password)) {
            gateway = c.gatewayUrl();
            direct = c.url("store");
            directInvokes = new KeepAliveHttp(direct);
            gatewayInvokes = new KeepAliveHttp(gateway);
            token = c.token();
            signer = c.internalIdentity();
            out.put("benchmark", "store");
            out.put("when", Instant.now().toString());
            if (parts.contains("increments")) increments(db);
            if (parts.contains("query") || parts.contains("get")) queries(db, objects);
            if (parts.contains("get")) gets(db);
        }
        Path results = Path.of("bench/results");
        Files.createDirectories(results);
        // a partial run (while iterating) does not overwrite the full results
        Files.writeString(results.resolve(parts.size() == 3 ? "store.json" : "store-partial.tmp"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        System.out.println("\nwritten: bench/results/" + (parts.size() == 3 ? "store.json" : "store-partial.tmp"));
        System.exit(0);
    }

    // ---------------------------------------------------------------------------------------------
    // increments

    /**
     * Rounds alternate which side goes first (API or raw) so that neither always meets a colder
     * cache or a busier neighbour; each round uses fresh tables on both sides; the figures are the
     * medians over the rounds (on a shared machine a single run is mostly noise).
     */
    private void increments(Connection db) throws Exception {
        int batches = 5, perBatch = 200_000, words = 50_000, rounds = 5;
        Random rnd = new Random(31);
        List<String[]> keys = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            String[] ks = new String[perBatch];
            // Zipf-like: a few words very often, most rarely, as in text
            for (int i = 0; i < perBatch; i++) ks[i] = "w" + (int) Math.floor(Math.pow(rnd.nextDouble(), 3) * words);
            keys.add(ks);
        }
        long total = (long) batches * perBatch;
        try (Statement st = db.createStatement()) {
            st.execute("create table if not exists public.raw_wc (key text primary key, attrs jsonb not null)");
        }
        // warm-up on scratch tables (JIT, plans, the pool's connections), every path
        mkdir("bench_wc_warm", "{\"key\":\"word\",\"attrs\":{\"freq\":\"Int\"}}");
        for (int w = 0; w < 3; w++) {
            invoke(direct, "bench_wc_warm", "warm-d" + w, keys.get(w));
            invoke(gateway, "bench_wc_warm", "warm-g" + w, keys.get(w));
        }
        rawCombined(db, "raw_wc_warm", "warm", keys.subList(0, 3));

        // the request bodies are the workload, made (and encoded) before the clock starts (raw's key lists are too)
        List<byte[]> bodies = new ArrayList<>();
        for (int b = 0; b < batches; b++) bodies.add(body("b" + b, keys.get(b)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        double[] apiDirect = new double[rounds], apiGateway = new double[rounds], raw = new double[rounds], ratio = new double[rounds];
        double[] rawLike = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            String space = "bench_wc_" + r;
            mkdir(space, "{\"key\":\"word\",\"attrs\":{\"freq\":\"Int\"}}");
            mkdir(space + "_gw", "{\"key\":\"word\",\"attrs\":{\"freq\":\"Int\"}}");
            boolean apiFirst = r % 2 == 0;
            try (Statement st = db.createStatement()) {
                // the space's own table shape: its columns, defaults and every index it keeps (GIN on
                // attrs and labels, path, modified, freq) — what the API's upsert maintains too
                st.execute("create table public.raw_like_" + r + " (like store.sp_" + space + " including all)");
            }
            if (!apiFirst) {
                raw[r] = total / rawCombined(db, "raw_wc2_" + r, "r" + r, keys);
                rawLike[r] = total / rawLike(db, "raw_like_" + r, "l" + r, keys);
            }
            long t0 = System.nanoTime();
            for (int b = 0; b < batches; b++) invoke(direct, space, bodies.get(b));
            apiDirect[r] = total / ((System.nanoTime() - t0) / 1e9);
            if (apiFirst) {
                raw[r] = total / rawCombined(db, "raw_wc2_" + r, "r" + r, keys);
                rawLike[r] = total / rawLike(db, "raw_like_" + r, "l" + r, keys);
            }
            t0 = System.nanoTime();
            for (int b = 0; b < batches; b++) invoke(gateway, space + "_gw", bodies.get(b));
            apiGateway[r] = total / ((System.nanoTime() - t0) / 1e9);
            ratio[r] = apiDirect[r] / raw[r];
            // a retry of every batch changes nothing
            for (int b = 0; b < batches; b++) invoke(direct, space, bodies.get(b));
            long apiSum = scalar(db, "select sum((attrs->>'freq')::bigint) from store.sp_" + space);
            long rawSum = scalar(db, "select sum((attrs->>'freq')::bigint) from public.raw_wc2_" + r);
            if (apiSum != total || rawSum != total) throw new IllegalStateException("sums differ: api " + apiSum + " raw " + rawSum + " expected " + total);
            System.out.printf("round %d (%s first): raw %.0f/s, raw on the space's table shape %.0f/s, API direct %.0f/s (%.2f, %.2f), through the gateway %.0f/s%n",
                    r, apiFirst ? "API" : "raw", raw[r], rawLike[r], apiDirect[r], ratio[r], apiDirect[r] / rawLike[r], apiGateway[r]);
        }

        // raw, naive: one upsert per increment, sent in JDBC batches of 10,000 (once: it is slow and only for scale)
        long t0 = System.nanoTime();
        db.setAutoCommit(false);
        try (PreparedStatement ps = db.prepareStatement("insert into public.raw_wc as t (key, attrs) values (?, jsonb_build_object('freq', 1)) "
                + "on conflict (key) do update set attrs = t.attrs || jsonb_build_object('freq', coalesce((t.attrs->>'freq')::bigint, 0) + 1)")) {
            for (String[] ks : keys) {
                for (int i = 0; i < ks.length; i++) {
                    ps.setString(1, ks[i]);
                    ps.addBatch();
                    if (i % 10_000 == 9_999) ps.executeBatch();
                }
                ps.executeBatch();
                db.commit();
            }
        }
        db.setAutoCommit(true);
        double rawPerRow = total / ((System.nanoTime() - t0) / 1e9);

        double rawMed = pct(raw, 50), apiMed = pct(apiDirect, 50), gwMed = pct(apiGateway, 50);
        System.out.printf("%n%-58s %14s %10s%n", "increments (" + total + " over " + words + " words, " + batches + " batches; median of " + rounds + " rounds)", "per second", "ratio");
        System.out.printf("%-58s %14.0f %10s%n", "raw JDBC, combined + unnest upsert (baseline)", rawMed, "1.00");
        System.out.printf("%-58s %14.0f %10.2f%n", "raw JDBC, one upsert per increment, batches of 10,000", rawPerRow, rawPerRow / rawMed);
        System.out.printf("%-58s %14.0f %10.2f%n", "M31 batch invoke API, direct to store-service", apiMed, apiMed / rawMed);
        System.out.printf("%-58s %14.0f %10.2f%n", "M31 batch invoke API, through the gateway", gwMed, gwMed / rawMed);
        System.out.printf("%-58s %14s %10.2f%n", "median of the per-round ratios (API direct / raw)", "", pct(ratio, 50));
        double likeMed = pct(rawLike, 50);
        System.out.printf("%-58s %14.0f %10.2f%n", "raw JDBC, the API's upsert on a table shaped like the space", likeMed, likeMed / rawMed);
        System.out.printf("%-58s %14s %10.2f%n", "API direct / that like-for-like raw", "", apiMed / likeMed);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("increments", total);
        m.put("rounds", rounds);
        m.put("rawCombinedPerSec", rawMed);
        m.put("rawPerRowBatchedPerSec", rawPerRow);
        m.put("apiDirectPerSec", apiMed);
        m.put("apiGatewayPerSec", gwMed);
        m.put("ratioApiDirectToRawCombined", apiMed / rawMed);
        m.put("ratioApiGatewayToRawCombined", gwMed / rawMed);
        m.put("medianRoundRatioApiDirectToRaw", pct(ratio, 50));
        m.put("ratioApiDirectToRawPerRow", apiMed / rawPerRow);
        m.put("rawSpaceShapedPerSec", likeMed);
        m.put("ratioApiDirectToRawSpaceShaped", apiMed / likeMed);
        m.put("roundsRawSpaceShapedPerSec", rawLike);
        m.put("roundsRawPerSec", raw);
        m.put("roundsApiDirectPerSec", apiDirect);
        m.put("roundsApiGatewayPerSec", apiGateway);
        out.put("increments", m);
    }

    /**
     * The API's own statement, by hand: the same combined unnest upsert (columns, version and
     * modified included) into a table with the space's columns and indexes, the batch id recorded.
     */
    private static double rawLike(Connection db, String table, String idPrefix, List<String[]> keys) throws Exception {
        db.setAutoCommit(false);
        long t0 = System.nanoTime();
        try (PreparedStatement ps = db.prepareStatement("insert into public." + table + " as sp (key, attrs, labels, version, created, modified) "
                + "select u.k, jsonb_build_object('freq', u.c0), '{}'::jsonb, 1, now(), now() from unnest(?::text[], ?::bigint[]) as u(k, c0) "
                + "on conflict (key) do update set attrs = sp.attrs || jsonb_build_object('freq', coalesce((sp.attrs->>'freq')::bigint, 0) "
                + "+ (excluded.attrs->>'freq')::bigint), version = sp.version + 1, modified = now()");
             PreparedStatement id = db.prepareStatement("insert into public.raw_batches values (?) on conflict do nothing")) {
            upsertCombined(db, ps, id, idPrefix, keys);
        } finally {
            db.setAutoCommit(true);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /**
     * The best raw form of the same work: combined per batch, one unnest upsert per 10,000 keys in
     * key order, the batch id recorded in the same transaction. Answers the seconds it took.
     */
    private static double rawCombined(Connection db, String table, String idPrefix, List<String[]> keys) throws Exception {
        try (Statement st = db.createStatement()) {
            st.execute("create table if not exists public." + table + " (key text primary key, attrs jsonb not null)");
            st.execute("create table if not exists public.raw_batches (batch_id text primary key)");
        }
        db.setAutoCommit(false);
        long t0 = System.nanoTime();
        try (PreparedStatement ps = db.prepareStatement("insert into public." + table + " as t (key, attrs) "
                + "select u.k, jsonb_build_object('freq', u.n) from unnest(?::text[], ?::bigint[]) as u(k, n) "
                + "on conflict (key) do update set attrs = t.attrs || jsonb_build_object('freq', coalesce((t.attrs->>'freq')::bigint, 0) + (excluded.attrs->>'freq')::bigint)");
             PreparedStatement id = db.prepareStatement("insert into public.raw_batches values (?) on conflict do nothing")) {
            upsertCombined(db, ps, id, idPrefix, keys);
        } finally {
            db.setAutoCommit(true);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /**
     * The raw side's work, the same for both tables: per batch the id recorded, the increments
     * combined, one unnest upsert ({@code ps}: keys, counts) per 10,000 keys in key order, one commit.
     */
    private static void upsertCombined(Connection db, PreparedStatement ps, PreparedStatement id, String idPrefix,
                                       List<String[]> keys) throws Exception {
        int b = 0;
        for (String[] ks : keys) {
            id.setString(1, idPrefix + "-b" + b++);
            id.executeUpdate();
            Map<String, Long> combined = new HashMap<>();
            for (String k : ks) combined.merge(k, 1L, Long::sum);
            String[] sorted = combined.keySet().toArray(new String[0]);
            Arrays.sort(sorted);
            for (int from = 0; from < sorted.length; from += 10_000) {
                String[] k = Arrays.copyOfRange(sorted, from, Math.min(sorted.length, from + 10_000));
                Long[] n = new Long[k.length];
                for (int i = 0; i < k.length; i++) n[i] = combined.get(k[i]);
                ps.setArray(1, db.createArrayOf("text", k));
                ps.setArray(2, db.createArrayOf("bigint", n));
                ps.executeUpdate();
            }
            db.commit();
        }
    }

    /** A batch body: one incr per word occurrence (the API combines them, as raw does in the client). */
    private static String body(String id, String[] keys) {
        StringBuilder sb = new StringBuilder(keys.length * 50).append("{\"batchId\":\"").append(id).append("\",\"invocations\":[");
        for (int i = 0; i < keys.length; i++) {
            if (i > 0) sb.append(',');
            sb.append("{\"key\":\"").append(keys[i]).append("\",\"ops\":{\"freq\":{\"op\":\"incr\",\"n\":1}}}");
        }
        return sb.append("]}").toString();
    }

    private void invoke(String base, String space, String id, String[] keys) throws Exception {
        invoke(base, space, body(id, keys).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /**
     * A batch over the plain kept-alive client (see {@link KeepAliveHttp}): the 10 MB body written
     * in one go on the calling thread, as the raw side writes its arrays through JDBC's socket.
     */
    private void invoke(String base, String space, byte[] body) throws Exception {
        KeepAliveHttp http = base.equals(direct) ? directInvokes : gatewayInvokes;
        String path = "/fs/" + space + ":invoke";
        KeepAliveHttp.Response r = base.equals(direct)
                ? http.post(path, body, "Authorization: Bearer " + token,
                        dev.andromeda.common.security.InternalIdentity.HEADER + ": " + signer.sign(ADMIN, "POST", path))
                : http.post(path, body, "Authorization: Bearer " + token);
        if (r.status() != 200) throw new IllegalStateException("invoke: " + r.status() + " " + new String(r.body()));
    }

    // ---------------------------------------------------------------------------------------------
    // secondary-attribute queries

    private void queries(Connection db, int objects) throws Exception {
        mkdir("bench_q", "{\"key\":\"word\",\"attrs\":{\"freq\":\"Int\",\"lang\":\"Str\"}}");
        // the same objects in a space whose freq has no index of its own (only the GIN on all attributes)
        mkdir("bench_q_noidx", "{\"key\":\"word\",\"attrs\":{\"freq\":\"Int\",\"lang\":\"Str\"},\"indexed\":[\"lang\"]}");
        long t0 = System.nanoTime();
        try (Statement st = db.createStatement()) {
            for (String t : List.of("store.sp_bench_q", "store.sp_bench_q_noidx")) {
                // freq is a permutation of 0..objects-1 (7919 is prime): a range [lo, lo+w) holds exactly w objects
                st.execute("insert into " + t + " (key, attrs, labels) select 'w' || i, "
                        + "jsonb_build_object('freq', (i::bigint * 7919) % " + objects + ", 'lang', case when i % 3 = 0 then 'en' else 'de' end), "
                        + "jsonb_build_object('path', '/d' || (i % 1000) || '/') from generate_series(1, " + objects + ") i");
                st.execute("analyze " + t);
            }
        }
        System.out.printf("%nloaded 2 x %d objects in %.1f s%n", objects, (System.nanoTime() - t0) / 1e9);
        Random rnd = new Random(7);
        String sql = "select key, (attrs || jsonb_build_object('word', key))::text as attrs, labels::text as labels, version, modified "
                + "from store.%s where ((attrs->>'freq')::numeric) >= ? and ((attrs->>'freq')::numeric) < ? order by key limit ?"; // as the API binds it: the page size + 1
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("objects", objects);
        m.put("method", "API direct and raw JDBC alternate (each goes first every other time) after a warm-up of "
                + WARM_QUERIES + " pairs; the gateway is timed in a loop of its own (its event loop's work after an answer "
                + "would otherwise land on the next measurement); p50/p99 over the measured queries");
        System.out.printf("%n%-58s %10s %10s %10s%n", "range query on freq, " + objects + " objects", "p50 ms", "p99 ms", "p50 ratio");
        try (PreparedStatement ps = db.prepareStatement(String.format(sql, "sp_bench_q"));
             PreparedStatement nps = db.prepareStatement(String.format(sql, "sp_bench_q_noidx"));
             KeepAliveHttp directHttp = new KeepAliveHttp(direct);
             KeepAliveHttp gatewayHttp = new KeepAliveHttp(gateway)) {
            // warm-up: the JIT compiles the request path only after thousands of requests
            for (int i = 0; i < WARM_QUERIES; i++) rangePair(ps, directHttp, objects, 100, rnd, i);
            for (int width : new int[] {100, 1_000, 10_000}) {
                int n = width == 100 ? 2000 : width == 1_000 ? 400 : 60;
                double[] api = new double[n], raw = new double[n];
                for (int i = -Math.max(5, n / 20); i < n; i++) {
                    double[] ar = rangePair(ps, directHttp, objects, width, rnd, i);
                    if (i >= 0) {
                        api[i] = ar[0];
                        raw[i] = ar[1];
                    }
                }
                double rawP50 = pct(raw, 50), apiP50 = pct(api, 50);
                System.out.printf("%-58s %10.2f %10.2f %10s%n", width + " rows: raw SQL over JDBC, indexed (baseline)", rawP50, pct(raw, 99), "1.00");
                System.out.printf("%-58s %10.2f %10.2f %10.2f%n", width + " rows: M31 query API, direct (baseline / API)", apiP50, pct(api, 99), rawP50 / apiP50);
                Map<String, Object> w = width == 100 ? m : new LinkedHashMap<>();
                w.put("rowsPerQuery", width);
                w.put("queries", n);
                w.put("rawIndexedP50Ms", rawP50);
                w.put("rawIndexedP99Ms", pct(raw, 99));
                w.put("apiDirectP50Ms", apiP50);
                w.put("apiDirectP99Ms", pct(api, 99));
                w.put("ratioRawToApiDirectP50", rawP50 / apiP50);
                if (width == 100) {
                    // through the gateway: its own loop, beside its own raw figures
                    // the gateway's own request path is compiled only after thousands of requests
                    // too: warmed as the direct path was, or its figure is the interpreter's
                    int gn = 1000;
                    double[] gw = new double[gn], graw = new double[gn];
                    for (int i = -WARM_QUERIES; i < gn; i++) {
                        long lo = rnd.nextInt(objects - width);
                        double g = timeGet(gatewayHttp, false, "/fs/bench_q" + rangeQuery(lo, width), width);
                        double r = timeRaw(ps, lo, lo + width, 1001, width);
                        if (i >= 0) {
                            gw[i] = g;
                            graw[i] = r;
                        }
                    }
                    System.out.printf("%-58s %10.2f %10.2f %10.2f%n", width + " rows: M31 query API, through the gateway", pct(gw, 50), pct(gw, 99), pct(graw, 50) / pct(gw, 50));
                    m.put("apiGatewayP50Ms", pct(gw, 50));
                    m.put("apiGatewayP99Ms", pct(gw, 99));
                    m.put("rawBesideGatewayP50Ms", pct(graw, 50));
                } else {
                    m.put("rows" + width, w);
                }
            }
            int noIdxN = 30, width = 100;
            double[] noIdx = new double[noIdxN], noIdxRaw = new double[noIdxN];
            for (int i = -2; i < noIdxN; i++) {
                long lo = rnd.nextInt(objects - width);
                double a = timeGet(directHttp, true, "/fs/bench_q_noidx" + rangeQuery(lo, width), width);
                double r = timeRaw(nps, lo, lo + width, 1001, width);
                if (i >= 0) {
                    noIdx[i] = a;
                    noIdxRaw[i] = r;
                }
            }
            System.out.printf("%-58s %10.2f %10.2f %10s%n", "100 rows: raw SQL over JDBC, no index on freq", pct(noIdxRaw, 50), pct(noIdxRaw, 99), "");
            System.out.printf("%-58s %10.2f %10.2f %10.2f%n", "100 rows: M31 query API, direct, no index on freq", pct(noIdx, 50), pct(noIdx, 99), pct(noIdxRaw, 50) / pct(noIdx, 50));
            m.put("rawNoIndexP50Ms", pct(noIdxRaw, 50));
            m.put("apiNoIndexP50Ms", pct(noIdx, 50));
            m.put("apiNoIndexP99Ms", pct(noIdx, 99));
        }
        out.put("query", m);
    }

    /** Warm-up pairs (M31_BENCH_WARM_QUERIES): with 3,000 the API's 100-row p50 was 0.74 ms, with 20,000 0.62 ms. */
    static final int WARM_QUERIES = Integer.parseInt(System.getenv().getOrDefault("M31_BENCH_WARM_QUERIES", "10000"));

    /** The query string of a range of {@code width} objects (above the default page of 1,000 the limit says so). */
    private static String rangeQuery(long lo, int width) {
        return "?freq.ge=" + lo + "&freq.lt=" + (lo + width) + (width > 1000 ? "&limit=" + width : "");
    }

    /** One range through the API direct and the same SQL over JDBC, in alternating order: {api ms, raw ms}. */
    private double[] rangePair(PreparedStatement ps, KeepAliveHttp http, int objects, int width, Random rnd, int i) throws Exception {
        long lo = rnd.nextInt(objects - width);
        int bind = Math.max(width, 1000) + 1; // the API's page (default 1,000, or the limit asked) + 1
        double a, r;
        if ((i & 1) == 0) {
            a = timeGet(http, true, "/fs/bench_q" + rangeQuery(lo, width), width);
            r = timeRaw(ps, lo, lo + width, bind, width);
        } else {
            r = timeRaw(ps, lo, lo + width, bind, width);
            a = timeGet(http, true, "/fs/bench_q" + rangeQuery(lo, width), width);
        }
        return new double[] {a, r};
    }

    /** A GET's milliseconds; the answer is checked (a JSON array of {@code expect} objects) after the clock stops. */
    private double timeGet(KeepAliveHttp http, boolean direct, String pathAndQuery, int expect) throws Exception {
        long t0 = System.nanoTime();
        KeepAliveHttp.Response r = get(http, direct, pathAndQuery);
        double ms = (System.nanoTime() - t0) / 1e6;
        if (r.status() != 200) throw new IllegalStateException(pathAndQuery + ": " + r.status() + " " + new String(r.body()));
        int got = JSON.readTree(r.body()).size();
        if (got != expect) throw new IllegalStateException(pathAndQuery + ": " + got + " objects, expected " + expect);
        return ms;
    }

    /**
     * A GET on the calling thread over a kept-alive connection (see {@link KeepAliveHttp}), as JDBC
     * runs its query on the calling thread. Straight to store-service it carries the identity the
     * gateway would have signed, made per request (a header is good for one request): that cost
     * is on the API's side of the comparison.
     */
    private KeepAliveHttp.Response get(KeepAliveHttp http, boolean direct, String pathAndQuery) throws Exception {
        if (!direct) return http.get(pathAndQuery, "Authorization: Bearer " + token);
        String path = pathAndQuery.indexOf('?') < 0 ? pathAndQuery : pathAndQuery.substring(0, pathAndQuery.indexOf('?'));
        return http.get(pathAndQuery, "Authorization: Bearer " + token,
                dev.andromeda.common.security.InternalIdentity.HEADER + ": " + signer.sign(ADMIN, "GET", path));
    }

    /**
     * The same SQL the API runs, every column read as a JDBC program reads it (key, attrs and labels
     * as strings, version, modified): the API copies the JSON text into its answer and parses
     * nothing, so the baseline parses nothing either.
     */
    private static double timeRaw(PreparedStatement ps, long lo, long hi, int limit, int expect) throws Exception {
        long t0 = System.nanoTime();
        ps.setBigDecimal(1, java.math.BigDecimal.valueOf(lo));
        ps.setBigDecimal(2, java.math.BigDecimal.valueOf(hi));
        ps.setInt(3, limit);
        int n = readRows(ps);
        double ms = (System.nanoTime() - t0) / 1e6;
        if (n != expect) throw new IllegalStateException("raw: " + n + " rows, expected " + expect);
        return ms;
    }

    // ---------------------------------------------------------------------------------------------
    // single GET

    /**
     * One object by key: the API direct beside the same lookup over JDBC (the API's own SQL), in
     * alternating order — the difference is the HTTP hop and the service's work around the query —
     * and through the gateway in a loop of its own.
     */
    private void gets(Connection db) throws Exception {
        int n = 4000;
        Random rnd = new Random(3);
        double[] gw = new double[n / 2], dir = new double[n], raw = new double[n];
        try (PreparedStatement ps = db.prepareStatement("select key, (attrs || jsonb_build_object('word', key))::text as attrs, "
                + "labels::text as labels, version, modified from store.sp_bench_q where key = ?");
             KeepAliveHttp directHttp = new KeepAliveHttp(direct);
             KeepAliveHttp gatewayHttp = new KeepAliveHttp(gateway)) {
            for (int i = -1000; i < n; i++) {
                String key = "w" + (1 + rnd.nextInt(1000));
                double d, r;
                if ((i & 1) == 0) {
                    d = timeGetOne(directHttp, true, key);
                    r = timeRawOne(ps, key);
                } else {
                    r = timeRawOne(ps, key);
                    d = timeGetOne(directHttp, true, key);
                }
                if (i >= 0) {
                    dir[i] = d;
                    raw[i] = r;
                }
            }
            for (int i = -200; i < n / 2; i++) {
                double g = timeGetOne(gatewayHttp, false, "w" + (1 + rnd.nextInt(1000)));
                if (i >= 0) gw[i] = g;
            }
        }
        System.out.printf("%n%-58s %10s %10s%n", "single object GET (" + n + ")", "p50 ms", "p99 ms");
        System.out.printf("%-58s %10.2f %10.2f%n", "raw SQL over JDBC, the same lookup by key", pct(raw, 50), pct(raw, 99));
        System.out.printf("%-58s %10.2f %10.2f%n", "direct to store-service (baseline)", pct(dir, 50), pct(dir, 99));
        System.out.printf("%-58s %10.2f %10.2f%n", "through the gateway", pct(gw, 50), pct(gw, 99));
        System.out.printf("%-58s %10.2f%n", "the HTTP hop and the service around the query (p50 diff)", pct(dir, 50) - pct(raw, 50));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rawP50Ms", pct(raw, 50));
        m.put("rawP99Ms", pct(raw, 99));
        m.put("directP50Ms", pct(dir, 50));
        m.put("directP99Ms", pct(dir, 99));
        m.put("gatewayP50Ms", pct(gw, 50));
        m.put("gatewayP99Ms", pct(gw, 99));
        m.put("directMinusRawP50Ms", pct(dir, 50) - pct(raw, 50));
        out.put("get", m);
    }

    private double timeGetOne(KeepAliveHttp http, boolean direct, String key) throws Exception {
        long t0 = System.nanoTime();
        KeepAliveHttp.Response r = get(http, direct, "/fs/bench_q/" + key);
        double ms = (System.nanoTime() - t0) / 1e6;
        if (r.status() != 200) throw new IllegalStateException("GET " + key + ": " + r.status());
        return ms;
    }

    /** Reads every column of every row as a JDBC program would (strings, a long, a timestamp): the row count. */
    private static int readRows(PreparedStatement ps) throws Exception {
        int n = 0;
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                rs.getString(1);
                rs.getString(2);
                rs.getString(3);
                rs.getLong(4);
                rs.getObject(5, java.time.OffsetDateTime.class);
                n++;
            }
        }
        return n;
    }

    private static double timeRawOne(PreparedStatement ps, String key) throws Exception {
        long t0 = System.nanoTime();
        ps.setString(1, key);
        int n = readRows(ps);
        double ms = (System.nanoTime() - t0) / 1e6;
        if (n != 1) throw new IllegalStateException("raw: no object " + key);
        return ms;
    }

    // ---------------------------------------------------------------------------------------------

    private void mkdir(String space, String spec) throws Exception {
        HttpResponse<String> r = send("PUT", gateway + "/fs/" + space, spec);
        if (r.statusCode() != 201 && r.statusCode() != 200) throw new IllegalStateException("mkdir " + space + ": " + r.statusCode() + " " + r.body());
    }

    private HttpResponse<String> send(String method, String url, String body) throws Exception {
        return send(method, url, body == null ? null : body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private HttpResponse<String> send(String method, String url, byte[] body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Authorization", "Bearer " + token);
        if (url.startsWith(direct)) b.header(dev.andromeda.common.security.InternalIdentity.HEADER, signer.sign(ADMIN, method, URI.create(url).getRawPath()));
        if (body != null) b.header("Content-Type", "application/json");
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static long scalar(Connection db, String sql) throws Exception {
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static double pct(double[] xs, int p) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1)];
    }
}
