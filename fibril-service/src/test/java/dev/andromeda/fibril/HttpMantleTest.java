package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.andromeda.common.config.M31Properties;
import dev.andromeda.common.http.ServiceClient;
import dev.andromeda.fibril.mantle.HttpMantle;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;

/** The mantle client speaks the other services' wire contracts: paths, headers, bodies. */
class HttpMantleTest {

    record Seen(String method, String uri, String idempotencyKey, String contentType, String body, String cap, String identity) {}

    HttpServer server;
    HttpMantle mantle;
    final List<Seen> seen = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String uri = ex.getRequestURI().toString();
            seen.add(new Seen(ex.getRequestMethod(), uri, ex.getRequestHeaders().getFirst("Idempotency-Key"),
                    ex.getRequestHeaders().getFirst("Content-Type"), body, ex.getRequestHeaders().getFirst("X-M31-Cap"),
                    ex.getRequestHeaders().getFirst(dev.andromeda.common.security.InternalIdentity.HEADER)));
            int status = 200;
            String answer = "{}";
            if (uri.startsWith("/ch/gone")) { status = 410; answer = "{\"detail\":\"closed\"}"; }
            else if (uri.startsWith("/ch/full")) { status = 429; answer = "{\"detail\":\"full\"}"; ex.getResponseHeaders().add("Retry-After", "2"); }
            else if (uri.startsWith("/fs/words/missing")) { status = 404; answer = "{\"status\":404,\"detail\":\"no object\"}"; }
            else if (uri.startsWith("/fs/words/")) answer = "{\"key\":\"pi\",\"attrs\":{\"freq\":3}}";
            else if (uri.startsWith("/fs?key=")) answer = "{\"spaces\":[{\"name\":\"words\",\"key\":\"word\",\"attrs\":{\"freq\":\"Int\"}}]}";
            else if (uri.equals("/code")) { status = 201; answer = "{\"fingerprint\":\"ab\",\"uri\":\"/code/ab\",\"bytes\":3}"; }
            else if (uri.equals("/ch")) { status = 201; answer = "{\"id\":\"ch-1\",\"uri\":\"/ch/ch-1\",\"send\":{\"cap\":\"s0.x\"},\"recv\":{\"cap\":\"r0.y\"}}"; }
            else if (uri.contains("/ack")) answer = "{\"acked\":7}";
            else if (uri.contains("/messages") && ex.getRequestMethod().equals("POST")) { status = 202; answer = "{\"seq\":1,\"duplicate\":false}"; }
            else if (uri.contains("/messages?")) answer = "{\"messages\":[{\"seq\":1,\"value\":\"hi\"}],\"closed\":false}";
            byte[] out = answer.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", status >= 400 ? "application/problem+json" : "application/json");
            ex.sendResponseHeaders(status, out.length);
            ex.getResponseBody().write(out);
            ex.close();
        });
        server.start();
        String url = "http://127.0.0.1:" + server.getAddress().getPort();
        M31Properties props = new M31Properties();
        props.setNode("E1");
        props.setSelfUrl("http://node-e1:8041");
        props.setServices(Map.of("store", url, "channel", url, "naming", url, "scheduler", url));
        this.props = props;
        mantle = new HttpMantle(new ServiceClient(JsonMapper.builder().build()), props);
    }

    M31Properties props;

    @Test
    void aFibrilsCallsAreSignedAsItsSpawnerRelayedByTheNode() throws Exception {
        var signer = new dev.andromeda.common.security.InternalIdentity("k".repeat(48), java.time.Duration.ofMinutes(1));
        var node = dev.andromeda.common.security.Caller.service("node:E1");
        HttpMantle signed = new HttpMantle(new ServiceClient(JsonMapper.builder().build(), signer, node), props);
        var alice = dev.andromeda.common.security.Caller.of("alice", List.of());

        signed.as(alice).makeSpace("notes", JsonNodeFactory.instance.objectNode().put("key", "k")).join();
        signed.as(alice).spawn(JsonNodeFactory.instance.objectNode().put("kind", "function")).join();
        signed.makeSpace("own", JsonNodeFactory.instance.objectNode().put("key", "k")).join();

        var asAlice = signer.verify(seen.get(0).identity(), "PUT", "/fs/notes").caller();
        assertThat(asAlice.subject()).isEqualTo("alice");
        assertThat(asAlice.via()).isEqualTo("node:E1");
        assertThat(asAlice.isService()).isFalse();
        assertThat(signer.verify(seen.get(1).identity(), "POST", "/fibrils").caller().subject()).isEqualTo("alice");
        // the node's own calls stay the node's
        assertThat(signer.verify(seen.get(2).identity(), "PUT", "/fs/own").caller()).isEqualTo(node);
        // without a signer there is nothing to carry: the same mantle
        assertThat(mantle.as(alice)).isSameAs(mantle);
    }

    @AfterEach
    void stop() { server.stop(0); }

    @Test
    void storeCalls() {
        assertThat(mantle.putCode("1+1").join()).isEqualTo("ab");
        assertThat(seen.get(0).contentType()).startsWith("text/plain");
        assertThat(seen.get(0).body()).isEqualTo("1+1");
        assertThat(mantle.listSpaces("word").join()).containsExactly(new dev.andromeda.fibril.mantle.Mantle.SpaceInfo("words", "word"));
        assertThat(mantle.getObject("words", "pi").join().path("attrs").path("freq").asInt()).isEqualTo(3);
        assertThat(mantle.getObject("words", "missing").join()).isNull();
        mantle.getObject("words", "two words").join();
        assertThat(seen.get(seen.size() - 1).uri()).isEqualTo("/fs/words/two%20words");
        mantle.query("words", List.of(Map.entry("freq.gt", "5"), Map.entry("sort", "-freq"))).join();
        assertThat(seen.get(seen.size() - 1).uri()).isEqualTo("/fs/words?freq.gt=5&sort=-freq");
        mantle.invoke("words", JsonNodeFactory.instance.objectNode().put("batchId", "b")).join();
        assertThat(seen.get(seen.size() - 1).uri()).isEqualTo("/fs/words:invoke");
    }

    @Test
    void channelCalls() {
        var opened = mantle.openChannel(JsonNodeFactory.instance.objectNode().put("type", "Any")).join();
        assertThat(opened.id()).isEqualTo("ch-1");
        assertThat(opened.sendCap()).isEqualTo("s0.x");
        assertThat(opened.recvCap()).isEqualTo("r0.y");
        mantle.send("ch-1", "s0.x", JsonNodeFactory.instance.stringNode("hello"), "fb-x:7", 0).join();
        Seen send = seen.get(seen.size() - 1);
        assertThat(send.uri()).isEqualTo("/ch/ch-1/messages");
        assertThat(send.idempotencyKey()).isEqualTo("fb-x:7");
        assertThat(send.cap()).isEqualTo("s0.x");
        assertThat(send.body()).isEqualTo("\"hello\"");  // a JSON string, not text/plain
        mantle.send("ch-1", "s0.x", JsonNodeFactory.instance.numberNode(5), "fb-x:8", 20).join();
        assertThat(seen.get(seen.size() - 1).uri()).isEqualTo("/ch/ch-1/messages?wait=20");
        mantle.sendBatch("ch-1", "s0.x", List.of(JsonNodeFactory.instance.numberNode(1), JsonNodeFactory.instance.stringNode("two")), "b-1").join();
        Seen batch = seen.get(seen.size() - 1);
        assertThat(batch.contentType()).isEqualTo("application/x-ndjson");
        assertThat(batch.body()).isEqualTo("1\n\"two\"\n");
        assertThat(batch.idempotencyKey()).isEqualTo("b-1");
        var r = mantle.receive("ch-1", "r0.y", 30, 1, 0, 0).join();
        assertThat(seen.get(seen.size() - 1).uri()).isEqualTo("/ch/ch-1/messages?wait=30&max=1");
        assertThat(seen.get(seen.size() - 1).cap()).isEqualTo("r0.y");
        assertThat(r.values()).hasSize(1);
        assertThat(r.values().get(0).asString()).isEqualTo("hi");
        assertThat(r.seqs()).containsExactly(1L);
        mantle.receive("ch-1", "r0.y", 30, 100, 60, 41).join();
        assertThat(seen.get(seen.size() - 1).uri()).isEqualTo("/ch/ch-1/messages?wait=30&max=100&ack=manual&lease=60&upTo=41");
        mantle.receive("ch-1", "r0.y", 30, 100, 60, 41, 77).join();
        assertThat(seen.get(seen.size() - 1).uri()).isEqualTo("/ch/ch-1/messages?wait=30&max=100&ack=manual&lease=60&upTo=41&leaseId=77");
        mantle.ack("ch-1", "r0.y", 7, true).join();
        assertThat(seen.get(seen.size() - 1).uri()).isEqualTo("/ch/ch-1/ack?release=true");
        assertThat(seen.get(seen.size() - 1).body()).isEqualTo("{\"upTo\":7}");
        mantle.ack("ch-1", "r0.y", 7, true, 77).join();
        assertThat(seen.get(seen.size() - 1).uri()).isEqualTo("/ch/ch-1/ack?release=true&leaseId=77");
        mantle.ack("ch-1", "r0.y", 7, false, 77).join();
        assertThat(seen.get(seen.size() - 1).uri()).isEqualTo("/ch/ch-1/ack?leaseId=77");
        assertThatThrownBy(() -> mantle.send("gone", null, JsonNodeFactory.instance.numberNode(1), null, 0).join())
                .hasCauseInstanceOf(ServiceClient.RemoteProblem.class).hasMessageContaining("closed");
        // a 429 carries the Retry-After the channel asked for
        assertThatThrownBy(() -> mantle.send("full", null, JsonNodeFactory.instance.numberNode(1), null, 0).join())
                .hasCauseInstanceOf(ServiceClient.RemoteProblem.class)
                .satisfies(e -> assertThat(((ServiceClient.RemoteProblem) e.getCause()).retryAfterSeconds()).isEqualTo(2));
    }

    @Test
    void namingAndSchedulerCalls() {
        mantle.bind("fb-1", "fibril").join();
        Seen bind = seen.get(0);
        assertThat(bind.method()).isEqualTo("PUT");
        assertThat(bind.uri()).isEqualTo("/names/bindings/fb-1");
        assertThat(bind.body()).contains("\"kind\":\"fibril\"").contains("\"node\":\"E1\"")
                .contains("\"url\":\"http://node-e1:8041\"").contains("\"generation\":1");
        mantle.heartbeat(3).join();
        Seen hb = seen.get(1);
        assertThat(hb.uri()).isEqualTo("/sched/nodes/E1");
        assertThat(hb.body()).contains("\"fibrils\":3").contains("\"url\":\"http://node-e1:8041\"");
        mantle.spawn(JsonNodeFactory.instance.objectNode().put("kind", "function")).join();
        assertThat(seen.get(2).uri()).isEqualTo("/fibrils");
        assertThat(seen.get(2).method()).isEqualTo("POST");
    }
}
