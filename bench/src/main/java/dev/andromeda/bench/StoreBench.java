package dev.andromeda.bench;

import dev.andromeda.engines.EmbeddedPostgresEngine;
import dev.andromeda.local.Constellation;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
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
 *   <li>a secondary-attribute range query on 1,000,000 objects: p50/p99 through the API vs the
 *       same SQL over JDBC, and vs a space without the attribute's index;</li>
 *   <li>a single-object GET through the gateway and direct to store-service.</li>
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
                        "-Xmx4g", "-cp", System.getProperty("java.class.path"), StoreBench.class.getName()));
                cmd.addAll(Arrays.asList(args));
                ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
                pb.environment().put("M31_POSTGRES_URL", pg.jdbcUrl());
                pb.environment().put("M31_POSTGRES_USER", pg.user());
                pb.environment().put("M31_POSTGRES_PASSWORD", pg.password());
                System.exit(pb.start().waitFor());
            }
        }
        int objects = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        new StoreBench().run(objects);
    }

    private String gateway, direct, token;
    /** Requests straight to store-service carry the identity the gateway would have signed. */
    private dev.andromeda.common.security.InternalIdentity signer;
    private static final dev.andromeda.common.security.Caller ADMIN =
            dev.andromeda.common.security.Caller.of("admin", java.util.List.of("admin"));
    private final Map<String, Object> out = new LinkedHashMap<>();

    private void run(int objects) throws Exception {
        String url = System.getenv("M31_POSTGRES_URL");
        String user = System.getenv("M31_POSTGRES_USER"), password = System.getenv("M31_POSTGRES_PASSWORD");
        try (Constellation c = Constellation.start(Constellation.Options.forTests());
             Connection db = DriverManager.getConnection(url, user, password)) {
            gateway = c.gatewayUrl();
            direct = c.url("store");
            token = c.token();
            signer = c.internalIdentity();
            out.put("benchmark", "store");
            out.put("when", Instant.now().toString());
            increments(db);
            queries(db, objects);
            gets();
        }
        Path results = Path.of("bench/results");
        Files.createDirectories(results);
        Files.writeString(results.resolve("store.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        System.out.println("\nwritten: bench/results/store.json");
        System.exit(0);
    }

    // ---------------------------------------------------------------------------------------------
    // increments

    private void increments(Connection db) throws Exception {
        int batches = 5, perBatch = 200_000, words = 50_000;
        Random rnd = new Random(31);
        List<String[]> keys = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            String[] ks = new String[perBatch];
            // Zipf-like: a few words very often, most rarely, as in text
            for (int i = 0; i < perBatch; i++) ks[i] = "w" + (int) Math.floor(Math.pow(rnd.nextDouble(), 3) * words);
            keys.add(ks);
        }
        long total = (long) batches * perBatch;
        mkdir("bench_wc", "{\"key\":\"word\",\"attrs\":{\"freq\":\"Int\"}}");
        mkdir("bench_wc_gw", "{\"key\":\"word\",\"attrs\":{\"freq\":\"Int\"}}");
        // warm-up on a scratch space (JIT, plans), then the measured runs
        mkdir("bench_wc_warm", "{\"key\":\"word\",\"attrs\":{\"freq\":\"Int\"}}");
        for (int w = 0; w < 3; w++) {
            invoke(direct, "bench_wc_warm", "warm-d" + w, keys.get(w));
            invoke(gateway, "bench_wc_warm", "warm-g" + w, keys.get(w));
        }

        long t0 = System.nanoTime();
        for (int b = 0; b < batches; b++) invoke(direct, "bench_wc", "b" + b, keys.get(b));
        double apiDirect = total / ((System.nanoTime() - t0) / 1e9);
        t0 = System.nanoTime();
        for (int b = 0; b < batches; b++) invoke(gateway, "bench_wc_gw", "b" + b, keys.get(b));
        double apiGateway = total / ((System.nanoTime() - t0) / 1e9);
        // a retry of every batch: nothing changes
        for (int b = 0; b < batches; b++) invoke(direct, "bench_wc", "b" + b, keys.get(b));

        try (Statement st = db.createStatement()) {
            st.execute("create table if not exists public.raw_wc (key text primary key, attrs jsonb not null)");
            st.execute("create table if not exists public.raw_wc2 (key text primary key, attrs jsonb not null)");
            st.execute("create table if not exists public.raw_batches (batch_id text primary key)");
        }
        // raw 1: one upsert per increment, sent in JDBC batches of 10,000
        t0 = System.nanoTime();
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
        double rawPerRow = total / ((System.nanoTime() - t0) / 1e9);
        // raw 2: the best raw form: combined per batch, one unnest upsert per 10,000 keys, batch id recorded
        t0 = System.nanoTime();
        try (PreparedStatement ps = db.prepareStatement("insert into public.raw_wc2 as t (key, attrs) "
                + "select u.k, jsonb_build_object('freq', u.n) from unnest(?::text[], ?::bigint[]) as u(k, n) "
                + "on conflict (key) do update set attrs = t.attrs || jsonb_build_object('freq', coalesce((t.attrs->>'freq')::bigint, 0) + (excluded.attrs->>'freq')::bigint)");
             PreparedStatement id = db.prepareStatement("insert into public.raw_batches values (?) on conflict do nothing")) {
            int b = 0;
            for (String[] ks : keys) {
                id.setString(1, "b" + b++);
                id.executeUpdate();
                Map<String, Long> combined = new HashMap<>();
                for (String k : ks) combined.merge(k, 1L, Long::sum);
                String[] sorted = combined.keySet().toArray(new String[0]);
                Arrays.sort(sorted);
                for (int from = 0; from < sorted.length; from += 10_000) {
                    String[] k = Arrays.copyOfRange(sorted, from, Math.min(sorted.length, from + 10_000));
                    Long[] n = new Long[k.length];
                    for (int i = 0; i < k.length; i++) n[i] = combined.get(k[i]);
                    Array ka = db.createArrayOf("text", k), na = db.createArrayOf("bigint", n);
                    ps.setArray(1, ka);
                    ps.setArray(2, na);
                    ps.executeUpdate();
                }
                db.commit();
            }
        }
        double rawCombined = total / ((System.nanoTime() - t0) / 1e9);
        db.setAutoCommit(true);
        // the same sums everywhere
        long apiSum = scalar(db, "select sum((attrs->>'freq')::bigint) from store.sp_bench_wc");
        long rawSum = scalar(db, "select sum((attrs->>'freq')::bigint) from public.raw_wc2");
        if (apiSum != total || rawSum != total) throw new IllegalStateException("sums differ: api " + apiSum + " raw " + rawSum + " expected " + total);

        System.out.printf("%n%-58s %14s %10s%n", "increments (" + total + " over " + words + " words, " + batches + " batches)", "per second", "ratio");
        System.out.printf("%-58s %14.0f %10s%n", "raw JDBC, combined + unnest upsert (baseline)", rawCombined, "1.00");
        System.out.printf("%-58s %14.0f %10.2f%n", "raw JDBC, one upsert per increment, batches of 10,000", rawPerRow, rawPerRow / rawCombined);
        System.out.printf("%-58s %14.0f %10.2f%n", "M31 batch invoke API, direct to store-service", apiDirect, apiDirect / rawCombined);
        System.out.printf("%-58s %14.0f %10.2f%n", "M31 batch invoke API, through the gateway", apiGateway, apiGateway / rawCombined);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("increments", total);
        m.put("rawCombinedPerSec", rawCombined);
        m.put("rawPerRowBatchedPerSec", rawPerRow);
        m.put("apiDirectPerSec", apiDirect);
        m.put("apiGatewayPerSec", apiGateway);
        m.put("ratioApiDirectToRawCombined", apiDirect / rawCombined);
        m.put("ratioApiGatewayToRawCombined", apiGateway / rawCombined);
        m.put("ratioApiDirectToRawPerRow", apiDirect / rawPerRow);
        out.put("increments", m);
    }

    private void invoke(String base, String space, String id, String[] keys) throws Exception {
        StringBuilder sb = new StringBuilder(keys.length * 50).append("{\"batchId\":\"").append(id).append("\",\"invocations\":[");
        for (int i = 0; i < keys.length; i++) {
            if (i > 0) sb.append(',');
            sb.append("{\"key\":\"").append(keys[i]).append("\",\"ops\":{\"freq\":{\"op\":\"incr\",\"n\":1}}}");
        }
        sb.append("]}");
        HttpResponse<String> r = send("POST", base + "/fs/" + space + ":invoke", sb.toString());
        if (r.statusCode() != 200) throw new IllegalStateException("invoke: " + r.statusCode() + " " + r.body());
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
                st.execute("insert into " + t + " (key, attrs, labels) select 'w' || i, "
                        + "jsonb_build_object('freq', (i::bigint * 7919) % " + objects + ", 'lang', case when i % 3 = 0 then 'en' else 'de' end), "
                        + "jsonb_build_object('path', '/d' || (i % 1000) || '/') from generate_series(1, " + objects + ") i");
                st.execute("analyze " + t);
            }
        }
        System.out.printf("%nloaded 2 x %d objects in %.1f s%n", objects, (System.nanoTime() - t0) / 1e9);
        Random rnd = new Random(7);
        int n = 400, warm = 50, width = 100;
        String sql = "select key, (attrs || jsonb_build_object('word', key))::text as attrs, labels::text as labels, version, modified "
                + "from store.%s where ((attrs->>'freq')::numeric) >= ? and ((attrs->>'freq')::numeric) < ? order by key limit 1001";
        double[] api = new double[n], gw = new double[n], raw = new double[n];
        int noIdxN = 30;
        double[] noIdx = new double[noIdxN], noIdxRaw = new double[noIdxN];
        try (PreparedStatement ps = db.prepareStatement(String.format(sql, "sp_bench_q"));
             PreparedStatement nps = db.prepareStatement(String.format(sql, "sp_bench_q_noidx"))) {
            for (int i = -warm; i < n; i++) {
                long lo = rnd.nextInt(objects - width);
                String q = "?freq.ge=" + lo + "&freq.lt=" + (lo + width);
                double a = timeGet(direct + "/fs/bench_q" + q, width);
                double g = timeGet(gateway + "/fs/bench_q" + q, width);
                double r = timeRaw(ps, lo, lo + width, width);
                if (i >= 0) {
                    api[i] = a;
                    gw[i] = g;
                    raw[i] = r;
                }
            }
            for (int i = -2; i < noIdxN; i++) {
                long lo = rnd.nextInt(objects - width);
                double a = timeGet(direct + "/fs/bench_q_noidx?freq.ge=" + lo + "&freq.lt=" + (lo + width), width);
                double r = timeRaw(nps, lo, lo + width, width);
                if (i >= 0) {
                    noIdx[i] = a;
                    noIdxRaw[i] = r;
                }
            }
        }
        System.out.printf("%n%-58s %10s %10s %10s%n", "range query, " + width + " of " + objects + " objects", "p50 ms", "p99 ms", "p50 ratio");
        double rawP50 = pct(raw, 50);
        System.out.printf("%-58s %10.2f %10.2f %10s%n", "raw SQL over JDBC, indexed (baseline)", rawP50, pct(raw, 99), "1.00");
        System.out.printf("%-58s %10.2f %10.2f %10.2f%n", "M31 query API, direct (baseline / API)", pct(api, 50), pct(api, 99), rawP50 / pct(api, 50));
        System.out.printf("%-58s %10.2f %10.2f %10.2f%n", "M31 query API, through the gateway", pct(gw, 50), pct(gw, 99), rawP50 / pct(gw, 50));
        System.out.printf("%-58s %10.2f %10.2f %10.2f%n", "raw SQL over JDBC, no index on freq", pct(noIdxRaw, 50), pct(noIdxRaw, 99), rawP50 / pct(noIdxRaw, 50));
        System.out.printf("%-58s %10.2f %10.2f %10.2f%n", "M31 query API, direct, no index on freq", pct(noIdx, 50), pct(noIdx, 99), rawP50 / pct(noIdx, 50));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("objects", objects);
        m.put("rowsPerQuery", width);
        m.put("rawIndexedP50Ms", rawP50);
        m.put("rawIndexedP99Ms", pct(raw, 99));
        m.put("apiDirectP50Ms", pct(api, 50));
        m.put("apiDirectP99Ms", pct(api, 99));
        m.put("apiGatewayP50Ms", pct(gw, 50));
        m.put("apiGatewayP99Ms", pct(gw, 99));
        m.put("rawNoIndexP50Ms", pct(noIdxRaw, 50));
        m.put("apiNoIndexP50Ms", pct(noIdx, 50));
        m.put("apiNoIndexP99Ms", pct(noIdx, 99));
        m.put("ratioRawToApiDirectP50", rawP50 / pct(api, 50));
        out.put("query", m);
    }

    private double timeGet(String url, int expect) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = send("GET", url, null);
        double ms = (System.nanoTime() - t0) / 1e6;
        if (r.statusCode() != 200) throw new IllegalStateException(url + ": " + r.statusCode() + " " + r.body());
        int got = JSON.readTree(r.body()).size();
        if (got != expect) throw new IllegalStateException(url + ": " + got + " objects, expected " + expect);
        return ms;
    }

    /** The same SQL the API runs, rows decoded as far as the API decodes them (the JSON text read). */
    private static double timeRaw(PreparedStatement ps, long lo, long hi, int expect) throws Exception {
        long t0 = System.nanoTime();
        ps.setBigDecimal(1, java.math.BigDecimal.valueOf(lo));
        ps.setBigDecimal(2, java.math.BigDecimal.valueOf(hi));
        int n = 0;
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                JSON.readTree(rs.getString(2));
                JSON.readTree(rs.getString(3));
                n++;
            }
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        if (n != expect) throw new IllegalStateException("raw: " + n + " rows, expected " + expect);
        return ms;
    }

    // ---------------------------------------------------------------------------------------------
    // single GET

    private void gets() throws Exception {
        int n = 2000;
        Random rnd = new Random(3);
        double[] gw = new double[n], dir = new double[n];
        for (int i = -200; i < n; i++) {
            String key = "w" + (1 + rnd.nextInt(1000));
            long t0 = System.nanoTime();
            HttpResponse<String> a = send("GET", gateway + "/fs/bench_q/" + key, null);
            double g = (System.nanoTime() - t0) / 1e6;
            t0 = System.nanoTime();
            HttpResponse<String> b = send("GET", direct + "/fs/bench_q/" + key, null);
            double d = (System.nanoTime() - t0) / 1e6;
            if (a.statusCode() != 200 || b.statusCode() != 200) throw new IllegalStateException("GET " + key + ": " + a.statusCode() + "/" + b.statusCode());
            if (i >= 0) {
                gw[i] = g;
                dir[i] = d;
            }
        }
        System.out.printf("%n%-58s %10s %10s%n", "single object GET (" + n + ")", "p50 ms", "p99 ms");
        System.out.printf("%-58s %10.2f %10.2f%n", "direct to store-service (baseline)", pct(dir, 50), pct(dir, 99));
        System.out.printf("%-58s %10.2f %10.2f%n", "through the gateway", pct(gw, 50), pct(gw, 99));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("directP50Ms", pct(dir, 50));
        m.put("directP99Ms", pct(dir, 99));
        m.put("gatewayP50Ms", pct(gw, 50));
        m.put("gatewayP99Ms", pct(gw, 99));
        out.put("get", m);
    }

    // ---------------------------------------------------------------------------------------------

    private void mkdir(String space, String spec) throws Exception {
        HttpResponse<String> r = send("PUT", gateway + "/fs/" + space, spec);
        if (r.statusCode() != 201 && r.statusCode() != 200) throw new IllegalStateException("mkdir " + space + ": " + r.statusCode() + " " + r.body());
    }

    private HttpResponse<String> send(String method, String url, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
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
