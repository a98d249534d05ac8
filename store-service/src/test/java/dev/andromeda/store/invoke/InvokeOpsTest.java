package dev.andromeda.store.invoke;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.store.StoreTestBase;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** min, max, setIfAbsent, add, remove: combined per key, one statement per group, all or nothing. */
class InvokeOpsTest extends StoreTestBase {

    private static Map<String, Object> op(String op, Object n) {
        return n == null ? Map.of("op", op) : Map.of("op", op, "n", n);
    }

    private static Map<String, Object> inv(String key, Map<String, Object> ops) {
        return Map.of("key", key, "ops", ops);
    }

    private TestHttp.Response batch(String space, String id, List<?> invs) {
        return http.post("/fs/" + space + ":invoke", TestHttp.json(Map.of("batchId", id, "invocations", invs)));
    }

    private JsonNode attrs(String space, String key) {
        return http.get("/fs/" + space + "/" + key).json().get("attrs");
    }

    @Test
    void everyOperationOnPresentAndAbsentValuesCombinedWithinABatch() {
        assertThat(http.put("/fs/ops", """
                {"key":"k","attrs":{"n":"Int","f":"Float","s":"Str","t":"Time","tags":"List<Str>","ok":"Bool"}}""").status()).isEqualTo(201);
        assertThat(http.put("/fs/ops/p", """
                {"attrs":{"n":10,"f":1.5,"s":"m","t":"2020-01-01T00:00:00Z","tags":["a","b"],"ok":false}}""").status()).isEqualTo(201);
        // the same sequence on a present object (p) and on an absent one (q), in one batch, with keys repeated
        List<Object> invs = new java.util.ArrayList<>();
        for (String k : List.of("p", "q")) {
            invs.add(inv(k, Map.of("n", op("incr", 5), "f", op("max", 2.25), "s", op("min", "k"), "tags", op("add", "c"))));
            invs.add(inv(k, Map.of("n", op("min", 12), "t", op("max", "2021-06-01T00:00:00+02:00"), "tags", op("remove", "a"))));
            invs.add(inv(k, Map.of("n", op("incr", 1), "s", op("setIfAbsent", "zzz"), "ok", op("setIfAbsent", true), "tags", op("add", "a"))));
            invs.add(inv(k, Map.of("f", op("decr", 0.25), "tags", op("add", "c"))));
        }
        var r = batch("ops", "b1", invs);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().get("keys").asInt()).isEqualTo(2);

        JsonNode p = attrs("ops", "p");
        assertThat(p.get("n").asLong()).isEqualTo(13);                // min(10 + 5, 12) + 1
        assertThat(p.get("f").decimalValue()).isEqualByComparingTo("2.0"); // max(1.5, 2.25) - 0.25
        assertThat(p.get("s").asString()).isEqualTo("k");              // min("m", "k"); present, so not "zzz"
        assertThat(p.get("t").asString()).isEqualTo("2021-05-31T22:00:00.000000Z");
        assertThat(p.get("ok").asBoolean()).isFalse();
        assertThat(p.get("tags").valueStream().map(JsonNode::asString).toList()).containsExactly("b", "c", "a");

        JsonNode q = attrs("ops", "q");
        assertThat(q.get("n").asLong()).isEqualTo(6);                 // min(0 + 5, 12) + 1
        assertThat(q.get("f").decimalValue()).isEqualByComparingTo("2.0");
        assertThat(q.get("s").asString()).isEqualTo("k");
        assertThat(q.get("ok").asBoolean()).isTrue();
        assertThat(q.get("tags").valueStream().map(JsonNode::asString).toList()).containsExactly("c", "a");
        assertThat(http.get("/fs/ops/p").json().get("version").asLong()).isEqualTo(2); // one batch, one version

        // a retry changes nothing
        assertThat(batch("ops", "b1", invs).json().get("applied").asBoolean()).isFalse();
        assertThat(attrs("ops", "p").get("n").asLong()).isEqualTo(13);

        // set then add in one batch; set on a list replaces it
        assertThat(batch("ops", "b2", List.of(inv("p", Map.of("tags", op("set", List.of("x", "x")))),
                inv("p", Map.of("tags", op("add", "y"))))).status()).isEqualTo(200);
        assertThat(attrs("ops", "p").get("tags").valueStream().map(JsonNode::asString).toList()).containsExactly("x", "x", "y");
    }

    @Test
    void singleKeyInvocationAnswersTheObjectAndIsIdempotentWithAnId() {
        assertThat(http.put("/fs/one", """
                {"key":"k","attrs":{"hits":"Int","best":"Float"}}""").status()).isEqualTo(201);
        var r = raw("POST", "/fs/one/page1:invoke", """
                {"batchId":"c1","ops":{"hits":{"op":"incr"},"best":{"op":"max","n":3.5}}}""");
        assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
        assertThat(json(r).get("attrs").get("hits").asLong()).isEqualTo(1);
        assertThat(r.headers().firstValue("ETag")).contains("\"1\"");
        var again = raw("POST", "/fs/one/page1:invoke", """
                {"batchId":"c1","ops":{"hits":{"op":"incr"},"best":{"op":"max","n":3.5}}}""");
        assertThat(json(again).get("attrs").get("hits").asLong()).isEqualTo(1);
        var noId = raw("POST", "/fs/one/page1:invoke", """
                {"ops":{"hits":{"op":"incr","n":2},"best":{"op":"max","n":1}}}""");
        assertThat(json(noId).get("attrs").get("hits").asLong()).isEqualTo(3);
        assertThat(json(noId).get("attrs").get("best").decimalValue()).isEqualByComparingTo("3.5");
        assertThat(raw("POST", "/fs/one/page1:invoke", "{\"ops\":{\"hits\":{\"op\":\"add\",\"n\":1}}}").statusCode()).isEqualTo(422);
        assertThat(raw("POST", "/fs/nosuch/page1:invoke", "{\"ops\":{\"hits\":{\"op\":\"incr\"}}}").statusCode()).isEqualTo(404);
    }

    @Test
    void anOperationThatDoesNotFitTheTypeIs422NamingItAndNothingIsApplied() {
        assertThat(http.put("/fs/strict_ops", """
                {"key":"k","attrs":{"n":"Int","s":"Str","tags":"List<Int>","ok":"Bool"}}""").status()).isEqualTo(201);
        assertThat(http.put("/fs/strict_ops/a", "{\"attrs\":{\"n\":1,\"s\":\"x\"}}").status()).isEqualTo(201);
        record Bad(Map<String, Object> ops, String field) {}
        for (Bad bad : List.of(
                new Bad(Map.of("s", op("incr", 1)), "invocations[1].ops.s"),
                new Bad(Map.of("ok", op("min", true)), "invocations[1].ops.ok"),
                new Bad(Map.of("n", op("add", 1)), "invocations[1].ops.n"),
                new Bad(Map.of("tags", op("add", "one")), "invocations[1].ops.tags"),
                new Bad(Map.of("n", op("max", "big")), "invocations[1].ops.n"),
                new Bad(Map.of("n", op("frobnicate", 1)), "invocations[1].ops.n"))) {
            var r = batch("strict_ops", "bad-" + bad.field() + bad.ops(), List.of(
                    inv("a", Map.of("n", op("incr", 100))), inv("b", bad.ops())));
            assertThat(r.status()).as(r.body()).isEqualTo(422);
            assertThat(r.field()).isEqualTo(bad.field());
        }
        var r = batch("strict_ops", "x", List.of(inv("a", Map.of("n", op("incr", 1))), inv("b", Map.of("s", op("incr", 1)))));
        assertThat(r.json().get("detail").asString()).contains("s").contains("Str");
        // nothing of any batch was applied, and the ids were not used up
        assertThat(attrs("strict_ops", "a").get("n").asLong()).isEqualTo(1);
        assertThat(http.get("/fs/strict_ops/b").status()).isEqualTo(404);
        assertThat(batch("strict_ops", "x", List.of(inv("a", Map.of("n", op("incr", 1))))).json().get("applied").asBoolean()).isTrue();
        // an Int leaving its range inside the database (a max far from an incr): the whole batch is refused
        assertThat(batch("strict_ops", "range", List.of(inv("a", Map.of("n", op("max", Long.MAX_VALUE - 1))),
                inv("a", Map.of("n", op("incr", 5))))).status()).isEqualTo(422);
        assertThat(attrs("strict_ops", "a").get("n").asLong()).isEqualTo(2);
    }
}
