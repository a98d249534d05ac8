package dev.andromeda.store.feed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.store.StoreTestBase;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** GET /fs/{space}?watch=true: the catch-up, the live tail, and a resume after a reconnect. */
class WatchTest extends StoreTestBase {

    /** The change lines of one watch, read on a thread of their own (empty heartbeat lines skipped). */
    private final class Watch implements AutoCloseable {
        final BlockingQueue<JsonNode> lines = new LinkedBlockingQueue<>();
        final HttpResponse<InputStream> response;
        final Thread reader;

        Watch(String query) throws Exception {
            HttpRequest req = HttpRequest.newBuilder(URI.create(http.base() + "/fs/feed?watch=true" + query)).build();
            response = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofInputStream());
            reader = Thread.ofVirtual().start(() -> {
                try (var in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        if (!line.isBlank()) lines.add(TestHttp.JSON.readTree(line));
                    }
                } catch (Exception closed) {
                    // the test closed the stream
                }
            });
        }

        /** The next change; waits as long as it takes the server to send it (a missing change fails the test). */
        JsonNode next() throws InterruptedException {
            JsonNode n = lines.poll(60, TimeUnit.SECONDS);
            assertThat(n).as("a change line").isNotNull();
            return n;
        }

        @Override
        public void close() throws Exception {
            response.body().close();
            reader.interrupt();
        }
    }

    @Test
    void catchUpThenLiveThenResume() throws Exception {
        assertThat(http.put("/fs/feed", "{\"key\":\"k\",\"attrs\":{\"n\":\"Int\"}}").status()).isEqualTo(201);
        String before = java.time.OffsetDateTime.now().minusMinutes(1).toString();
        assertThat(http.put("/fs/feed/a", "{\"attrs\":{\"n\":1}}").status()).isEqualTo(201);
        assertThat(http.put("/fs/feed/b", "{\"attrs\":{\"n\":2}}").status()).isEqualTo(201);

        long secondSeq;
        try (Watch w = new Watch("&since=" + TestHttp.enc(before))) {
            assertThat(w.response.statusCode()).isEqualTo(200);
            assertThat(w.response.headers().firstValue("Content-Type").orElse("")).startsWith("application/x-ndjson");
            JsonNode a = w.next();
            assertThat(a.get("op").asString()).isEqualTo("put");
            assertThat(a.get("key").asString()).isEqualTo("a");
            assertThat(a.get("attrs").get("n").asLong()).isEqualTo(1);
            // when, as every time in the API: RFC 3339 in UTC (it was the timestamp's local text, no offset)
            java.time.Instant at = java.time.Instant.parse(a.get("at").asString());
            assertThat(at).isBetween(java.time.Instant.now().minusSeconds(60), java.time.Instant.now().plusSeconds(1));
            JsonNode b = w.next();
            assertThat(b.get("key").asString()).isEqualTo("b");
            secondSeq = b.get("seq").asLong();
            assertThat(secondSeq).isGreaterThan(a.get("seq").asLong());

            // live: written after the watch caught up
            assertThat(http.put("/fs/feed/c", "{\"attrs\":{\"n\":3}}").status()).isEqualTo(201);
            assertThat(http.post("/fs/feed:invoke", """
                    {"batchId":"w1","invocations":[{"key":"a","ops":{"n":{"op":"incr","n":5}}},{"key":"d","ops":{"n":{"op":"set","n":4}}}]}""")
                    .status()).isEqualTo(200);
            assertThat(http.delete("/fs/feed/b").status()).isEqualTo(204);
            assertThat(raw("PATCH", "/fs/feed/c/labels", "{\"set\":{\"x\":\"y\"}}").statusCode()).isEqualTo(200);

            JsonNode c = w.next();
            assertThat(c.get("op").asString() + c.get("key").asString()).isEqualTo("putc");
            JsonNode i1 = w.next(), i2 = w.next();
            assertThat(i1.get("op").asString()).isEqualTo("invoke");
            assertThat(i1.get("seq").asLong()).isEqualTo(i2.get("seq").asLong()); // one batch, one change
            assertThat(i1.get("batchId").asString()).isEqualTo("w1");
            assertThat(i1.get("key").asString() + i2.get("key").asString()).isEqualTo("ad");
            assertThat(i1.get("attrs").get("n").asLong()).isEqualTo(6);
            JsonNode del = w.next();
            assertThat(del.get("op").asString() + del.get("key").asString()).isEqualTo("deleteb");
            JsonNode lab = w.next();
            assertThat(lab.get("op").asString()).isEqualTo("labels");
            assertThat(lab.get("labels").get("x").asString()).isEqualTo("y");
        }

        // a reconnect after the second change gets everything after it, once, in the same order
        try (Watch again = new Watch("&after=" + secondSeq)) {
            assertThat(again.next().get("key").asString()).isEqualTo("c");
            assertThat(again.next().get("op").asString()).isEqualTo("invoke");
            assertThat(again.next().get("op").asString()).isEqualTo("invoke");
            assertThat(again.next().get("op").asString()).isEqualTo("delete");
            assertThat(again.next().get("op").asString()).isEqualTo("labels");
            // and then the live tail again
            assertThat(http.put("/fs/feed/e", "{\"attrs\":{\"n\":5}}").status()).isEqualTo(201);
            assertThat(again.next().get("key").asString()).isEqualTo("e");
        }
        // a watch without a start sees only what comes after it
        try (Watch now = new Watch("")) {
            assertThat(http.put("/fs/feed/f", "{\"attrs\":{\"n\":6}}").status()).isEqualTo(201);
            assertThat(now.next().get("key").asString()).isEqualTo("f");
        }
        assertThat(http.get("/fs/feed?watch=true&after=x").status()).isEqualTo(400);
        assertThat(http.get("/fs/feed?watch=true&since=never").status()).isEqualTo(400);
        assertThat(http.get("/fs/nosuch?watch=true").status()).isEqualTo(404);
    }
}
