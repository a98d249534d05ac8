package dev.andromeda.store.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.store.StoreTestBase;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * {@link ReadFilter} answers a plain JSON page and a plain object read before the dispatcher.
 * Whatever it answers must be what the dispatcher's handlers answer (an Accept with a quality
 * makes the filter step aside), and everything it does not take — errors above all — must still
 * come out as the dispatcher's problem details.
 */
class ReadFilterTest extends StoreTestBase {

    @Autowired MeterRegistry meters;

    @Test
    void thePlainPageIsTheDispatchersPageAndKeepsItsRoute() {
        assertThat(http.put("/fs/pagefilter", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\",\"s\":\"Str\"}}").status()).isEqualTo(201);
        List<Object> invs = new ArrayList<>();
        for (int i = 0; i < 30; i++) invs.add(Map.of("key", "k" + i, "ops", Map.of("n", Map.of("op", "set", "n", i), "s", Map.of("op", "set", "n", "q\"" + i))));
        assertThat(http.post("/fs/pagefilter:invoke", TestHttp.json(Map.of("batchId", "pf", "invocations", invs))).status()).isEqualTo(200);

        String q = "/fs/pagefilter?n.ge=5&sort=-n&limit=7";
        double answered = answered("/fs/{space}");
        var fast = raw("GET", q, null, "Accept", "application/json");
        assertThat(answered("/fs/{space}")).as("the filter answered the plain page").isEqualTo(answered + 1);
        var dispatched = raw("GET", q, null, "Accept", "application/json;q=0.9");
        assertThat(answered("/fs/{space}")).as("the dispatcher answered the other").isEqualTo(answered + 1);
        assertThat(fast.statusCode()).isEqualTo(200);
        assertThat(dispatched.statusCode()).isEqualTo(200);
        assertThat(text(fast)).isEqualTo(text(dispatched));
        assertThat(json(fast).size()).isEqualTo(7);
        assertThat(json(fast).get(0).get("attrs").get("n").asInt()).isEqualTo(29);
        for (String h : List.of("Content-Type", "M31-Cursor", "Link")) {
            assertThat(fast.headers().firstValue(h)).as(h).isPresent().isEqualTo(dispatched.headers().firstValue(h));
        }
        // the next page through the cursor the filter gave
        String cursor = fast.headers().firstValue("M31-Cursor").orElseThrow();
        var next = raw("GET", q + "&cursor=" + TestHttp.enc(cursor), null);
        assertThat(json(next).get(0).get("attrs").get("n").asInt()).isEqualTo(22);

        // the requests' metrics are filed under their route, not as UNKNOWN
        double before = count();
        for (int i = 0; i < 5; i++) assertThat(raw("GET", "/fs/pagefilter?n.lt=3", null).statusCode()).isEqualTo(200);
        long deadline = System.currentTimeMillis() + 5000;
        while (count() < before + 5 && System.currentTimeMillis() < deadline) Thread.onSpinWait();
        assertThat(count()).withFailMessage(meters.find("http.server.requests").timers().stream().map(t -> t.getId().getTags() + "=" + t.count()).toList().toString()).isGreaterThanOrEqualTo(before + 5);
        assertThat(http.delete("/fs/pagefilter").status()).isEqualTo(204);
    }

    @Test
    void whatTheFilterDoesNotAnswerStillGetsTheDispatchersProblems() {
        assertThat(http.put("/fs/pagefilter2", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\"}}").status()).isEqualTo(201);
        // unknown space, unknown attribute, wrong value type, bad limit, bad cursor, bad format: each names its field
        assertThat(http.get("/fs/nosuchspace?n.gt=1").status()).isEqualTo(404);
        var unknown = http.get("/fs/pagefilter2?nope.gt=1");
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.contentType()).startsWith("application/problem+json");
        assertThat(unknown.field()).isEqualTo("nope.gt");
        assertThat(http.get("/fs/pagefilter2?n.gt=abc").field()).isEqualTo("n.gt");
        assertThat(http.get("/fs/pagefilter2?limit=0").field()).isEqualTo("limit");
        assertThat(http.get("/fs/pagefilter2?cursor=garbage").field()).isEqualTo("cursor");
        assertThat(http.get("/fs/pagefilter2?fmt=XML").field()).isEqualTo("fmt");
        // no stack trace, nothing of the filter in the answer
        assertThat(unknown.body()).doesNotContain("Exception").doesNotContain("ReadFilter");
        assertThat(http.delete("/fs/pagefilter2").status()).isEqualTo(204);
    }

    @Test
    void aPlainObjectReadIsTheDispatchersAnswerAndTheRestStillGoesThere() {
        assertThat(http.put("/fs/readfilter", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\",\"s\":\"Str\"},\"opts\":{\"versioning\":true}}").status()).isEqualTo(201);
        assertThat(http.put("/fs/readfilter/a.b~c-1", "{\"attrs\":{\"n\":1,\"s\":\"ünï \\\"q\\\"\"}}").status()).isEqualTo(201);
        var second = http.put("/fs/readfilter/a.b~c-1", "{\"attrs\":{\"n\":2,\"s\":\"ünï \\\"q\\\" two\"},\"labels\":{\"l\":\"x\\ny\"}}");
        assertThat(second.status()).as(second.body()).isEqualTo(200);
        double answered = answered("/fs/{space}/{key}");
        var fast = raw("GET", "/fs/readfilter/a.b~c-1", null);
        assertThat(answered("/fs/{space}/{key}")).as("the filter answered the plain read").isEqualTo(answered + 1);
        var dispatched = raw("GET", "/fs/readfilter/a.b~c-1", null, "Accept", "application/json;q=0.9");
        assertThat(answered("/fs/{space}/{key}")).as("the dispatcher answered the other").isEqualTo(answered + 1);
        assertThat(fast.statusCode()).isEqualTo(200);
        assertThat(text(fast)).isEqualTo(text(dispatched));
        assertThat(json(fast).get("attrs").get("n").asInt()).isEqualTo(2);
        for (String h : List.of("Content-Type", "ETag")) {
            assertThat(fast.headers().firstValue(h)).as(h).isPresent().isEqualTo(dispatched.headers().firstValue(h));
        }
        assertThat(fast.headers().firstValue("ETag")).contains("\"2\"");
        double before = count("/fs/{space}/{key}");
        for (int i = 0; i < 3; i++) raw("GET", "/fs/readfilter/a.b~c-1", null);
        long deadline = System.currentTimeMillis() + 5000;
        while (count("/fs/{space}/{key}") < before + 3 && System.currentTimeMillis() < deadline) Thread.onSpinWait();
        assertThat(count("/fs/{space}/{key}")).isGreaterThanOrEqualTo(before + 3);

        // what the filter leaves to the dispatcher: a version, an encoded key, a missing object or space
        double beforeLeft = answered("/fs/{space}/{key}");
        var v1 = http.get("/fs/readfilter/a.b~c-1?version=1");
        assertThat(v1.status()).isEqualTo(200);
        assertThat(v1.json().get("attrs").get("n").asInt()).isEqualTo(1);
        assertThat(http.put("/fs/readfilter/" + TestHttp.enc("sp aceü"), "{\"attrs\":{\"n\":3}}").status()).isEqualTo(201);
        assertThat(http.get("/fs/readfilter/" + TestHttp.enc("sp aceü")).json().get("attrs").get("n").asInt()).isEqualTo(3);
        var missing = http.get("/fs/readfilter/nope");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.contentType()).startsWith("application/problem+json");
        assertThat(missing.body()).doesNotContain("Exception");
        assertThat(http.get("/fs/nosuchspace/k").status()).isEqualTo(404);
        assertThat(answered("/fs/{space}/{key}")).as("none of those counted as the filter's").isEqualTo(beforeLeft);
        assertThat(http.delete("/fs/readfilter").status()).isEqualTo(204);
    }

    /** How many reads of that route the filter answered itself. */
    private double answered(String route) {
        var c = meters.find(ReadFilter.METRIC).tag("uri", route).counter();
        return c == null ? 0 : c.count();
    }

    private double count() {
        return count("/fs/{space}");
    }

    private double count(String uri) {
        var t = meters.find("http.server.requests").tag("uri", uri).tag("method", "GET").tag("status", "200").timer();
        return t == null ? 0 : t.count();
    }
}
