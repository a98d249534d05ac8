package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.id.Ids;
import dev.andromeda.fibril.mantle.Mantle;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The node's HTTP API, on a real port, with the mantle faked. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "spring.config.name=fibril-service",
        "m31.node=E0",
        "m31.self-url=http://127.0.0.1:1",
        "m31.services.naming=http://127.0.0.1:1",
        "m31.services.store=http://127.0.0.1:1",
        "m31.services.channel=http://127.0.0.1:1",
        "m31.services.scheduler=http://127.0.0.1:1",
        "m31.fibril.carriers=2",
        // few request threads: long polls must not hold them
        "server.tomcat.threads.max=4",
        "server.tomcat.threads.min-spare=1",
})
class FibrilApiTest {

    @TestConfiguration
    static class Fakes {
        @Bean
        @Primary
        Mantle fakeMantle() { return new FakeMantle(); }
    }

    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final JsonMapper JSON = JsonMapper.builder().build();

    @LocalServerPort
    int port;

    record Res(int status, String type, JsonNode body) {}

    Res send(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Res(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body().isEmpty() ? null : JSON.readTree(r.body()));
    }

    @Test
    void aSyntaxErrorIsA400NamingLineAndColumn() throws Exception {
        Res r = send("POST", "/fibrils", "{\"source\": \"var a = 1;\\nvar b = (;\\n\"}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.type()).startsWith("application/problem+json");
        assertThat(r.body().path("field").asString()).isEqualTo("source");
        assertThat(r.body().path("detail").asString()).contains("line 2").contains("column");
    }

    @Test
    void spawnThenWaitForTheResult() throws Exception {
        Res r = send("POST", "/fibrils", "{\"source\": \"var sys = require('sys'); sys.sleep(50); sys.args[0] * 7\", \"args\": [6]}");
        assertThat(r.status()).isEqualTo(201);
        String id = r.body().path("id").asString();
        assertThat(Ids.isValid(id, Ids.FIBRIL)).isTrue();
        assertThat(r.body().path("uri").asString()).isEqualTo("/fibrils/" + id);
        assertThat(r.body().path("node").asString()).isEqualTo("E0");
        assertThat(r.body().path("fingerprint").asString()).hasSize(64);
        Res done = send("GET", "/fibrils/" + id + "?wait=10", null);
        assertThat(done.status()).isEqualTo(200);
        assertThat(done.body().path("state").asString()).isEqualTo("done");
        assertThat(done.body().path("result").asInt()).isEqualTo(42);
        assertThat(done.body().hasNonNull("ended")).isTrue();
    }

    @Test
    void longPollsHoldNoRequestThread() throws Exception {
        Res r = send("POST", "/fibrils", "{\"source\": \"require('sys').sleep(2500); 7\"}");
        String id = r.body().path("id").asString();
        // twice as many waiting clients as the node has request threads
        List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> waits = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            waits.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/fibrils/" + id + "?wait=30")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        Thread.sleep(500);
        assertThat(waits).noneMatch(java.util.concurrent.CompletableFuture::isDone);
        // the node still answers at once while they wait
        long t0 = System.nanoTime();
        Res now = send("GET", "/fibrils/" + id, null);
        assertThat(now.body().path("state").asString()).isEqualTo("parked");
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(2000);
        for (var w : waits) {
            HttpResponse<String> done = w.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(done.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(done.body()).path("result").asInt()).isEqualTo(7);
        }
        // a wait that runs out answers the fibril as it is
        Res sleeper = send("POST", "/fibrils", "{\"source\": \"require('sys').sleep(5000)\"}");
        Res early = send("GET", "/fibrils/" + sleeper.body().path("id").asString() + "?wait=1", null);
        assertThat(early.status()).isEqualTo(200);
        assertThat(early.body().path("state").asString()).isEqualTo("parked");
        Res bad = send("GET", "/fibrils/" + id + "?wait=61", null);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body().path("field").asString()).isEqualTo("wait");
        assertThat(send("GET", "/fibrils/" + id + "?wait=soon", null).body().path("field").asString()).isEqualTo("wait");
    }

    @Test
    void aFailureReportsTheJsLine() throws Exception {
        Res r = send("POST", "/fibrils", "{\"source\": \"1;\\nundefinedThing.x\"}");
        Res done = send("GET", "/fibrils/" + r.body().path("id").asString() + "?wait=10", null);
        assertThat(done.body().path("state").asString()).isEqualTo("failed");
        assertThat(done.body().path("error").asString()).contains("ReferenceError").contains("line 2");
    }

    @Test
    void killAParkedFibril() throws Exception {
        Res r = send("POST", "/fibrils", "{\"source\": \"require('sys').sleep(60000)\"}");
        String id = r.body().path("id").asString();
        Thread.sleep(100);
        Res k = send("DELETE", "/fibrils/" + id, null);
        assertThat(k.status()).isEqualTo(200);
        assertThat(k.body().path("state").asString()).isEqualTo("killed");
    }

    @Test
    void forgedUnknownAndMisplacedIds() throws Exception {
        String id = Ids.newId(Ids.FIBRIL);
        String forged = id.substring(0, id.length() - 2) + (id.charAt(id.length() - 2) == 'A' ? 'B' : 'A') + id.charAt(id.length() - 1);
        assertThat(send("GET", "/fibrils/" + forged, null).status()).isEqualTo(400);
        assertThat(send("GET", "/fibrils/" + id, null).status()).isEqualTo(404);
        assertThat(send("DELETE", "/fibrils/" + id, null).status()).isEqualTo(404);
        Res elsewhere = send("POST", "/fibrils", "{\"source\": \"1\", \"node\": \"E1\"}");
        assertThat(elsewhere.status()).isEqualTo(409);
        assertThat(send("POST", "/fibrils", "{\"kind\": \"function\"}").status()).isEqualTo(400);
    }

    @Test
    void theNodeDescribesItself() throws Exception {
        send("POST", "/fibrils", "{\"source\": \"require('sys').sleep(2000)\"}");
        Res n = send("GET", "/net/node=E0", null);
        assertThat(n.status()).isEqualTo(200);
        assertThat(n.body().path("name").asString()).isEqualTo("E0");
        assertThat(n.body().path("alive").asBoolean()).isTrue();
        assertThat(n.body().path("fibrils").asInt()).isGreaterThanOrEqualTo(1);
        Res list = send("GET", "/net/node=E0/fibrils", null);
        assertThat(list.body().path("fibrils").size()).isGreaterThanOrEqualTo(1);
        assertThat(send("GET", "/net/node=E9", null).status()).isEqualTo(404);
        assertThat(send("GET", "/net", null).body().path("nodes").get(0).path("name").asString()).isEqualTo("E0");
    }
}
