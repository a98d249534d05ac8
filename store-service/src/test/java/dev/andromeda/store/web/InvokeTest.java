package dev.andromeda.store.web;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import dev.andromeda.store.StoreTestBase;
import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;

class InvokeTest extends StoreTestBase {

    private static final Logger log = LoggerFactory.getLogger(InvokeTest.class);

    @Autowired JdbcClient jdbc;

    private static Map<String, Object> incr(String key, String attr, long n) {
        return Map.of("key", key, "ops", Map.of(attr, Map.of("op", "incr", "n", n)));
    }

    private static String batch(String id, List<?> invocations) {
        return TestHttp.json(Map.of("batchId", id, "invocations", invocations));
    }

    private Map<String, Long> counts(String space) {
        Map<String, Long> m = new HashMap<>();
        jdbc.sql("select key, (attrs->>'freq')::bigint from sp_" + space)
                .query(rs -> { m.put(rs.getString(1), rs.getLong(2)); });
        return m;
    }

    @Test
    void exactSumsOverRandomBatchesWithRepeatedKeysAndIdempotentRetries() {
        assertThat(http.put("/fs/wc", """
                {"key":"word","attrs":{"freq":"Int"},"opts":{"partitions":8,"failures":2}}""").status()).isEqualTo(201);
        Random rnd = new Random(31);
        Map<String, Long> expected = new HashMap<>();
        int batches = 4, perBatch = 50_000, keySpace = 20_000;
        long applyNanos = 0;
        List<String> bodies = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            List<Object> invs = new ArrayList<>(perBatch);
            for (int i = 0; i < perBatch; i++) {
                String w = "w" + rnd.nextInt(keySpace);
                long n = 1 + rnd.nextInt(3);
                boolean decr = rnd.nextInt(10) == 0;
                invs.add(Map.of("key", w, "ops", Map.of("freq", Map.of("op", decr ? "decr" : "incr", "n", n))));
                expected.merge(w, decr ? -n : n, Long::sum);
            }
            String body = batch("wc-" + b, invs);
            bodies.add(body);
            long t0 = System.nanoTime();
            var r = http.post("/fs/wc:invoke", body);
            applyNanos += System.nanoTime() - t0;
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.json().get("applied").asBoolean()).isTrue();
            assertThat(r.json().get("keys").asInt()).isBetween(1, keySpace);
        }
        long total = (long) batches * perBatch;
        log.info("invoke: {} increments over {} keys in {} batches: {} increments/s end to end (HTTP+JSON+validation+upsert)",
                total, expected.size(), batches, Math.round(total / (applyNanos / 1e9)));
        assertThat(counts("wc")).isEqualTo(expected);

        // a retry of an applied batch changes nothing
        var retry = http.post("/fs/wc:invoke", bodies.get(2));
        assertThat(retry.status()).isEqualTo(200);
        assertThat(retry.json().get("applied").asBoolean()).isFalse();
        assertThat(retry.json().get("batchId").asString()).isEqualTo("wc-2");
        assertThat(counts("wc")).isEqualTo(expected);

        var one = http.get("/fs/wc/w7");
        assertThat(one.json().get("attrs").get("freq").asLong()).isEqualTo(expected.get("w7"));
        assertThat(one.json().get("attrs").get("word").asString()).isEqualTo("w7");
        assertThat(one.json().get("version").asLong()).isBetween(1L, (long) batches); // one bump per batch
        var top = http.get("/fs/wc?sort=-freq&limit=3");
        long best = expected.values().stream().mapToLong(Long::longValue).max().orElseThrow();
        assertThat(top.json().get(0).get("attrs").get("freq").asLong()).isEqualTo(best);
    }

    @Test
    void repeatedKeysCombineAndSetOrdersWithIncr() {
        http.put("/fs/combine", """
                {"key":"k","attrs":{"n":"Int","x":"Float","s":"Str"}}""");
        var r = http.post("/fs/combine:invoke", batch("c1", List.of(
                incr("a", "n", 2), incr("a", "n", 3), incr("b", "n", 1),
                Map.of("key", "a", "ops", Map.of("x", Map.of("op", "incr", "n", 0.1))),
                Map.of("key", "a", "ops", Map.of("x", Map.of("op", "incr", "n", 0.2))),
                Map.of("key", "b", "ops", Map.of("n", Map.of("op", "set", "n", 100))),
                incr("b", "n", 5),
                Map.of("key", "c", "ops", Map.of("s", Map.of("op", "set", "n", "hello"), "n", Map.of("op", "decr"))),
                Map.of("key", "d", "ops", Map.of("x", Map.of("op", "decr", "n", 1.5))))));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().get("keys").asInt()).isEqualTo(4);
        var a = http.get("/fs/combine/a").json().get("attrs");
        assertThat(a.get("n").asLong()).isEqualTo(5);
        assertThat(a.get("x").decimalValue()).isEqualByComparingTo(new BigDecimal("0.3")); // numeric, not 0.30000000000000004
        assertThat(http.get("/fs/combine/b").json().get("attrs").get("n").asLong()).isEqualTo(105);
        var c = http.get("/fs/combine/c").json().get("attrs");
        assertThat(c.get("s").asString()).isEqualTo("hello");
        assertThat(c.get("n").asLong()).isEqualTo(-1);
        assertThat(http.get("/fs/combine/d").json().get("attrs").get("x").decimalValue()).isEqualByComparingTo("-1.5");

        // a second batch on existing rows: floats add, an incr after a set keeps the set's value as base
        http.post("/fs/combine:invoke", batch("c2", List.of(
                Map.of("key", "a", "ops", Map.of("x", Map.of("op", "incr", "n", 2.25), "n", Map.of("op", "incr", "n", 10))),
                Map.of("key", "b", "ops", Map.of("n", Map.of("op", "set", "n", 7))))));
        var a2 = http.get("/fs/combine/a").json();
        assertThat(a2.get("attrs").get("x").decimalValue()).isEqualByComparingTo("2.55");
        assertThat(a2.get("attrs").get("n").asLong()).isEqualTo(15);
        assertThat(a2.get("version").asLong()).isEqualTo(2);
        assertThat(http.get("/fs/combine/b").json().get("attrs").get("n").asLong()).isEqualTo(7);
        assertThat(http.get("/fs/combine?x.gt=2.5").json().size()).isEqualTo(1);
    }

    @Test
    void aBadOpAnywhereIs422AndNothingIsApplied() {
        http.put("/fs/strict", """
                {"key":"k","attrs":{"n":"Int","s":"Str","f":"Float"}}""");
        List<Object> good = new ArrayList<>();
        for (int i = 0; i < 1000; i++) good.add(incr("k" + i, "n", 1));

        record Bad(Object inv, String field) {}
        List<Bad> bads = List.of(
                new Bad(incr("z", "nosuch", 1), "invocations[1000].ops.nosuch"),
                new Bad(incr("z", "s", 1), "invocations[1000].ops.s"),
                new Bad(Map.of("key", "z", "ops", Map.of("n", Map.of("op", "incr", "n", 1.5))), "invocations[1000].ops.n"),
                new Bad(Map.of("key", "z", "ops", Map.of("n", Map.of("op", "set", "n", "ten"))), "invocations[1000].ops.n"),
                new Bad(Map.of("key", "z", "ops", Map.of("f", Map.of("op", "incr", "n", "x"))), "invocations[1000].ops.f"),
                new Bad(incr("z", "k", 1), "invocations[1000].ops.k"));
        for (Bad bad : bads) {
            List<Object> invs = new ArrayList<>(good);
            invs.add(bad.inv());
            var r = http.post("/fs/strict:invoke", batch("strict-bad", invs));
            assertThat(r.status()).as(r.body()).isEqualTo(422);
            assertThat(r.field()).isEqualTo(bad.field());
        }
        var unknownOp = http.post("/fs/strict:invoke", TestHttp.json(Map.of("batchId", "x",
                "invocations", List.of(incr("y", "n", 1), Map.of("key", "z", "ops", Map.of("n", Map.of("op", "multiply", "n", 2)))))));
        assertThat(unknownOp.status()).isEqualTo(422);
        assertThat(unknownOp.field()).isEqualTo("invocations[1].ops.n");
        // ops before the key, and a key that is not a string
        var noKey = http.post("/fs/strict:invoke", "{\"batchId\":\"x\",\"invocations\":[{\"ops\":{\"n\":{\"op\":\"incr\"}},\"key\":5}]}");
        assertThat(noKey.status()).isEqualTo(422);
        assertThat(noKey.field()).isEqualTo("invocations[0].key");
        assertThat(http.post("/fs/strict:invoke", "{\"batchId\":\"x\",\"invocations\":[{\"key\":\"a\",").status()).isEqualTo(400);
        assertThat(http.post("/fs/strict:invoke", "{\"invocations\":[]}").field()).isEqualTo("batchId");
        assertThat(http.post("/fs/strict:invoke", "{\"batchId\":\"x\",\"invocations\":{}}").field()).isEqualTo("invocations");
        assertThat(jdbc.sql("select count(*) from sp_strict").query(Long.class).single()).isZero();
        // the failed batch id was not used up: the same id applies once it is valid
        var ok = http.post("/fs/strict:invoke", batch("strict-bad", good));
        assertThat(ok.json().get("applied").asBoolean()).isTrue();
        assertThat(jdbc.sql("select count(*) from sp_strict").query(Long.class).single()).isEqualTo(1000);
        assertThat(http.post("/fs/nosuchspace:invoke", batch("b", good)).status()).isEqualTo(404);
    }

    @Test
    void theHotPathRateOnCombinedBatches() {
        http.put("/fs/hot", """
                {"key":"word","attrs":{"freq":"Int"}}""");
        // what the nucleus sends: already combined per word, 10,000 distinct words per batch
        List<Object> invs = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) invs.add(incr("word" + i, "freq", 1 + (i % 7)));
        long increments = 0;
        long t0 = System.nanoTime();
        for (int b = 0; b < 10; b++) {
            var r = http.post("/fs/hot:invoke", batch("hot-" + b, invs));
            assertThat(r.status()).isEqualTo(200);
            increments += 10_000;
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        log.info("invoke hot path: {} keyed increments in {} ms = {} upserts/s (10 batches of 10,000 distinct keys, HTTP included)",
                increments, Math.round(secs * 1000), Math.round(increments / secs));
        assertThat(http.get("/fs/hot/word6").json().get("attrs").get("freq").asLong()).isEqualTo(70);
        assertThat(http.get("/fs/hot/word7").json().get("attrs").get("freq").asLong()).isEqualTo(10);
    }

    @Test
    void concurrentBatchesOnOverlappingKeysSumExactly() throws Exception {
        http.put("/fs/conc", """
                {"key":"word","attrs":{"freq":"Int"},"opts":{"partitions":4}}""");
        int threads = 4, batchesEach = 5, perBatch = 2_000;
        Map<String, Long> expected = new java.util.concurrent.ConcurrentHashMap<>();
        List<java.util.concurrent.Future<?>> done = new ArrayList<>();
        var pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            for (int th = 0; th < threads; th++) {
                int id = th;
                done.add(pool.submit(() -> {
                    Random rnd = new Random(id);
                    for (int b = 0; b < batchesEach; b++) {
                        List<Object> invs = new ArrayList<>();
                        for (int i = 0; i < perBatch; i++) {
                            String w = "c" + rnd.nextInt(500); // heavy overlap between threads
                            invs.add(incr(w, "freq", 1));
                            expected.merge(w, 1L, Long::sum);
                        }
                        var r = http.post("/fs/conc:invoke", batch("t" + id + "-" + b, invs));
                        assertThat(r.status()).as(r.body()).isEqualTo(200);
                    }
                    return null;
                }));
            }
            for (var f : done) f.get();
        } finally {
            pool.shutdown();
        }
        assertThat(counts("conc")).isEqualTo(expected);
    }

    @Test
    void theGeneratedBindingAppliesTheSameWay() {
        http.put("/fs/bound", """
                {"key":"k","attrs":{"n":"Int"}}""");
        String body = batch("b1", List.of(incr("a", "n", 2), incr("a", "n", 3)));
        var r = http.post("/fs/bound:invoke?" + StoreController.UNUSED_PARAM + "=1", body);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().get("keys").asInt()).isEqualTo(1);
        assertThat(http.post("/fs/bound:invoke", body).json().get("applied").asBoolean()).isFalse(); // same id, other path
        assertThat(http.get("/fs/bound/a").json().get("attrs").get("n").asLong()).isEqualTo(5);
        var bad = http.post("/fs/bound:invoke?" + StoreController.UNUSED_PARAM + "=1", batch("b2", List.of(incr("a", "zz", 1))));
        assertThat(bad.status()).isEqualTo(422);
        assertThat(bad.field()).isEqualTo("invocations[0].ops.zz");
    }
}
