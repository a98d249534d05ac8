package dev.andromeda.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.client.ApiClient;
import dev.andromeda.client.api.ChannelsApi;
import dev.andromeda.client.api.NodesApi;
import dev.andromeda.client.model.Channel;
import dev.andromeda.client.model.ChannelSpec;
import dev.andromeda.client.model.Fibril;
import dev.andromeda.client.model.MessageBatch;
import dev.andromeda.client.model.Node;
import dev.andromeda.examples.corpus.CorpusGenerator;
import dev.andromeda.examples.corpus.CorpusServer;
import dev.andromeda.examples.corpus.McIlroy;
import dev.andromeda.local.demo.WordFreqJob;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The whole constellation, booted as `./m31 up` boots it (real PostgreSQL, real KRaft Kafka,
 * every service on its own port, two fibril nodes), used only through the gateway: with the
 * generated Java client and with plain HTTP, as a user would.
 */
class ConstellationE2ETest extends ConstellationTestBase {

    static CorpusServer corpusServer;
    static Path corpus;
    static Map<String, Long> reference;

    @BeforeAll
    static void serveACorpus() throws Exception {
        corpus = Files.createTempDirectory("m31-corpus-");
        CorpusGenerator.generate(corpus, CorpusGenerator.Options.small(11));
        reference = McIlroy.countCorpus(corpus);
        corpusServer = new CorpusServer(corpus);
    }

    @AfterAll
    static void stopServingIt() throws Exception {
        if (corpusServer != null) corpusServer.close();
        // the corpus is this class's own: it used to stay in the temporary directory
        if (corpus != null) {
            try (var files = Files.walk(corpus)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    @Test
    void wordCountThroughTheGeneratedClientMatchesMcIlroy() throws Exception {
        dropWords();
        WordFreqJob job = new WordFreqJob(constellation.gatewayUrl(), constellation.token());
        WordFreqJob.Result r = job.run(corpusServer.seedUrl(), Duration.ofMinutes(5));

        assertThat(r.fibril().getState()).as("root fibril: %s", r.fibril().getError()).isEqualTo(Fibril.StateEnum.DONE);
        assertThat(job.counts()).isEqualTo(reference);
        assertThat(job.top(10)).isEqualTo(McIlroy.top(reference, 10));
        assertThat(r.fibril().getResult()).isInstanceOf(Map.class);
        assertThat(((Number) ((Map<?, ?>) r.fibril().getResult()).get("freq")).longValue()).isEqualTo(reference.get("pi"));
    }

    @Test
    void wordCountThroughPlainHttpMatchesMcIlroy() throws Exception {
        dropWords();
        String body = json.writeValueAsString(Map.of("source", WordFreqJob.script(), "args", List.of(corpusServer.seedUrl())));
        HttpResponse<String> spawned = call("POST", "/fibrils", body);
        assertThat(spawned.statusCode()).as(spawned.body()).isEqualTo(201);
        String id = json.readTree(spawned.body()).get("id").asString();
        assertThat(id).startsWith("fb-");

        JsonNode f = json.readTree(call("GET", "/fibrils/" + id + "?wait=30", null).body());
        for (int i = 0; i < 10 && !f.get("state").asString().matches("done|failed|killed"); i++) {
            f = json.readTree(call("GET", "/fibrils/" + id + "?wait=30", null).body());
        }
        assertThat(f.get("state").asString()).as(f.toString()).isEqualTo("done");
        assertThat(f.get("result").get("freq").asLong()).isEqualTo(reference.get("pi"));

        HttpResponse<String> all = call("GET", "/fs/words?fmt=JSON&limit=100000", null);
        assertThat(all.statusCode()).isEqualTo(200);
        Map<String, Long> counts = new HashMap<>();
        for (JsonNode o : json.readTree(all.body())) counts.put(o.get("key").asString(), o.get("attrs").get("freq").asLong());
        assertThat(counts).isEqualTo(reference);

        // an attribute filter, as the paper's secondary-attribute queries
        long piCount = reference.get("pi");
        HttpResponse<String> filtered = call("GET", "/fs/words?fmt=JSON&freq.ge=" + piCount + "&limit=100000", null);
        long expected = reference.values().stream().filter(v -> v >= piCount).count();
        assertThat(json.readTree(filtered.body()).size()).isEqualTo((int) expected);
    }

    @Test
    void netListsBothNodesAndRoutesToEach() throws Exception {
        NodesApi nodes = new NodesApi(client());
        List<String> names = nodes.listNodes().getNodes().stream().map(Node::getName).toList();
        assertThat(names).contains("E0", "E1");
        for (String n : List.of("E0", "E1")) {
            Node node = nodes.describeNode(n);
            assertThat(node.getName()).isEqualTo(n);
            assertThat(node.getUrl()).isEqualTo(constellation.url(n));
        }
    }

    @Test
    void nodeMetricsAndTheFibrilListAreServedThroughTheGateway() throws Exception {
        String script = "var sys = require('sys'); sys.sleep(3000); 1";
        String id = json.readTree(call("POST", "/fibrils", json.writeValueAsString(Map.of("source", script))).body()).get("id").asString();
        String node = json.readTree(call("GET", "/fibrils/" + id, null).body()).get("node").asString();

        HttpResponse<String> metrics = call("GET", "/net/node=" + node + "/metrics", null);
        assertThat(metrics.statusCode()).as(metrics.body()).isEqualTo(200);
        assertThat(json.readTree(metrics.body()).toString()).contains("\"fibrils\"");

        HttpResponse<String> listed = call("GET", "/fibrils?state=parked", null);
        assertThat(listed.statusCode()).as(listed.body()).isEqualTo(200);
        List<String> ids = json.readTree(listed.body()).get("fibrils").valueStream().map(f -> f.get("id").asString()).toList();
        assertThat(ids).contains(id);
    }

    @Test
    void spawnedFibrilsAreSpreadOverTheNodes() throws Exception {
        String script = "var sys = require('sys'); var cs = [];"
                + "for (var i = 0; i < 8; i++) cs.push(sys.spawn(function () { return require('sys').self().node; }, []));"
                + "var seen = {}; for (var j = 0; j < cs.length; j++) { seen[cs[j][1].recv().ok] = true; } Object.keys(seen).sort().join(',');";
        HttpResponse<String> spawned = call("POST", "/fibrils", json.writeValueAsString(Map.of("source", script)));
        assertThat(spawned.statusCode()).as(spawned.body()).isEqualTo(201);
        String id = json.readTree(spawned.body()).get("id").asString();
        JsonNode f = json.readTree(call("GET", "/fibrils/" + id + "?wait=60", null).body());
        assertThat(f.get("state").asString()).as(f.toString()).isEqualTo("done");
        assertThat(f.get("result").asString()).isEqualTo("E0,E1");
    }

    @Test
    void channelsCarryMessagesInOrderThroughTheGateway() throws Exception {
        ChannelsApi channels = new ChannelsApi(client());
        Channel ch = channels.createChannel(new ChannelSpec().type("Int").mode(ChannelSpec.ModeEnum.ASYNC));
        for (int i = 1; i <= 5; i++) channels.sendMessage(ch.getId(), i, null);
        // a receive answers as soon as something is there: receive until all five came
        List<Integer> got = new java.util.ArrayList<>();
        for (int i = 0; i < 10 && got.size() < 5; i++) {
            for (var m : channels.receiveMessages(ch.getId(), 5, 10, null, null, null, null).getMessages()) got.add(((Number) m.getValue()).intValue());
        }
        assertThat(got).containsExactly(1, 2, 3, 4, 5);

        HttpResponse<String> wrongType = call("POST", "/ch/" + ch.getId() + "/messages", "\"five\"");
        assertThat(wrongType.statusCode()).isEqualTo(422);
        assertThat(wrongType.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).contains("problem+json"));
    }

    /**
     * Two workers on one channel with manual acks, through the gateway with the generated client:
     * each acknowledges its own lease only, and what a worker that stops holds comes back to the
     * other — every message processed once.
     */
    @Test
    void workersSharingAChannelAcknowledgeTheirOwnLeasesThroughTheGeneratedClient() throws Exception {
        ChannelsApi channels = new ChannelsApi(client());
        Channel ch = channels.createChannel(new ChannelSpec().type("Int").mode(ChannelSpec.ModeEnum.ASYNC));
        for (int i = 1; i <= 6; i++) channels.sendMessage(ch.getId(), i, null);
        // worker A takes a batch on a 2 s lease and never acknowledges it (it dies)
        MessageBatch a = null;
        for (int i = 0; i < 10 && (a == null || a.getMessages().isEmpty()); i++) a = channels.receiveMessages(ch.getId(), 5, 3, "manual", 2, null, null);
        assertThat(a.getLeaseId()).isNotNull();
        List<Integer> aHeld = a.getMessages().stream().map(m -> ((Number) m.getValue()).intValue()).toList();
        assertThat(aHeld).isNotEmpty().isSorted();
        // worker B takes the rest and acknowledges its lease: A's messages stay unacknowledged
        List<Integer> processed = new java.util.ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (processed.size() < 6 && System.nanoTime() < deadline) {
            MessageBatch b = channels.receiveMessages(ch.getId(), 1, 10, "manual", 30, null, null);
            if (b.getMessages().isEmpty()) continue;
            b.getMessages().forEach(m -> processed.add(((Number) m.getValue()).intValue()));
            long last = b.getMessages().get(b.getMessages().size() - 1).getSeq();
            channels.ackMessages(ch.getId(), new dev.andromeda.client.model.AckRequest().upTo(last), b.getLeaseId(), false);
        }
        // B got everything once: its own messages, then A's after A's lease ran out
        assertThat(processed).containsExactlyInAnyOrder(1, 2, 3, 4, 5, 6);
        assertThat(processed.subList(processed.size() - aHeld.size(), processed.size())).containsExactlyElementsOf(aHeld);
        assertThat(channels.receiveMessages(ch.getId(), 1, 10, "manual", 30, null, null).getMessages()).isEmpty();

        // a lease id that is not a number is a problem naming it, over plain HTTP as well
        HttpResponse<String> bad = call("POST", "/ch/" + ch.getId() + "/ack?leaseId=x", "{\"upTo\":1}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(json.readTree(bad.body()).get("field").asString()).isEqualTo("leaseId");
    }

    @Test
    void badInputGetsProblemsNotStackTraces() throws Exception {
        HttpResponse<String> noSpace = call("GET", "/fs/nosuchspace/x", null);
        assertThat(noSpace.statusCode()).isEqualTo(404);
        assertThat(noSpace.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).contains("problem+json"));

        HttpResponse<String> syntax = call("POST", "/fibrils", json.writeValueAsString(Map.of("source", "var x = 1;\nvar y = (;\n")));
        assertThat(syntax.statusCode()).isEqualTo(400);
        JsonNode p = json.readTree(syntax.body());
        assertThat(p.get("field").asString()).isEqualTo("source");
        assertThat(p.get("detail").asString()).contains("line 2");

        HttpResponse<String> forged = call("GET", "/fibrils/fb-0000000000000000000000000000", null);
        assertThat(forged.statusCode()).isEqualTo(400);

        HttpResponse<String> badJson = call("PUT", "/fs/things", "{\"key\": ");
        assertThat(badJson.statusCode()).isEqualTo(400);
        assertThat(badJson.body()).doesNotContain("at dev.andromeda", "Exception");

        HttpResponse<String> javaAccess = call("POST", "/fibrils",
                json.writeValueAsString(Map.of("source", "java.lang.System.exit(1)")));
        assertThat(javaAccess.statusCode()).isIn(201, 400);
        if (javaAccess.statusCode() == 201) {
            String id = json.readTree(javaAccess.body()).get("id").asString();
            JsonNode f = json.readTree(call("GET", "/fibrils/" + id + "?wait=20", null).body());
            assertThat(f.get("state").asString()).isEqualTo("failed");
        }

        // a method the resource does not have: 405 saying which it has (RFC 9110), typed like every problem
        HttpResponse<String> wrongMethod = call("PATCH", "/fs", "{}");
        assertThat(wrongMethod.statusCode()).isEqualTo(405);
        assertThat(wrongMethod.headers().firstValue("Allow")).hasValueSatisfying(a -> assertThat(a).contains("GET"));
        assertThat(json.readTree(wrongMethod.body()).path("type").asString()).isEqualTo("/problems/method-not-allowed");

        HttpResponse<String> anonymous = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/fibrils")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(anonymous.statusCode()).isEqualTo(401);
    }

    @Test
    void servicesRefuseRequestsThatDidNotComeThroughTheGatewayOrASignedPeer() throws Exception {
        String store = constellation.url("store");
        HttpResponse<String> direct = http.send(HttpRequest.newBuilder(URI.create(store + "/fs")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(direct.statusCode()).isEqualTo(401);
        assertThat(direct.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).contains("problem+json"));
        // client-made identity headers are stripped by the gateway; a copied one is useless a second time
        var signer = constellation.internalIdentity();
        String header = signer.sign(dev.andromeda.common.security.Caller.of("admin", List.of("admin")), "GET", "/fs");
        HttpResponse<String> once = http.send(HttpRequest.newBuilder(URI.create(store + "/fs"))
                .header(dev.andromeda.common.security.InternalIdentity.HEADER, header).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(once.statusCode()).isEqualTo(200);
        HttpResponse<String> replayed = http.send(HttpRequest.newBuilder(URI.create(store + "/fs"))
                .header(dev.andromeda.common.security.InternalIdentity.HEADER, header).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(replayed.statusCode()).isEqualTo(401);
        HttpResponse<String> forgedKey = http.send(HttpRequest.newBuilder(URI.create(constellation.url("naming") + "/net"))
                .header(dev.andromeda.common.security.InternalIdentity.HEADER,
                        new dev.andromeda.common.security.InternalIdentity("not-the-constellation-key-but-32-bytes", Duration.ofSeconds(30))
                                .sign(dev.andromeda.common.security.Caller.of("admin", List.of("admin")), "GET", "/net")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(forgedKey.statusCode()).isEqualTo(401);
    }

    @Test
    void anAliasLeadsToWhatItNamesThroughTheGateway() throws Exception {
        String script = "var sys = require('sys'); sys.sleep(3000); 42;";
        HttpResponse<String> spawned = call("POST", "/fibrils", json.writeValueAsString(Map.of("source", script)));
        assertThat(spawned.statusCode()).as(spawned.body()).isEqualTo(201);
        String id = json.readTree(spawned.body()).get("id").asString();
        HttpResponse<String> alias = call("PUT", "/names/answer", json.writeValueAsString(Map.of("uri", "/fibrils/" + id)));
        assertThat(alias.statusCode()).as(alias.body()).isEqualTo(200);
        assertThat(json.readTree(alias.body()).get("owner").asString()).isEqualTo("admin");
        JsonNode viaAlias = json.readTree(call("GET", "/a/answer?wait=60", null).body());
        assertThat(viaAlias.get("id").asString()).isEqualTo(id);
        assertThat(viaAlias.get("result").asInt()).isEqualTo(42);
        JsonNode resolved = json.readTree(call("GET", "/names/resolve?uri=" + java.net.URLEncoder.encode("/a/answer", java.nio.charset.StandardCharsets.UTF_8), null).body());
        assertThat(resolved.get("binding").get("id").asString()).isEqualTo(id);
        JsonNode node = json.readTree(call("PUT", "/names/first-node", "{\"uri\":\"/net/node=E0\"}").body());
        assertThat(node.get("id").asString()).isEqualTo("E0");
        assertThat(json.readTree(call("GET", "/a/first-node", null).body()).get("name").asString()).isEqualTo("E0");
        // someone else cannot take the alias over
        HttpResponse<String> theirs = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/names/answer"))
                .header("Authorization", "Bearer " + userToken("mallory"))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"uri\":\"/fs/words\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(theirs.statusCode()).isEqualTo(403);
    }

    @Test
    void aPublicNameLetsAnyoneSendToOneChannelAndNothingElse() throws Exception {
        ChannelsApi channels = new ChannelsApi(client());
        Channel ch = channels.createChannel(new ChannelSpec().type("Int").mode(ChannelSpec.ModeEnum.ASYNC));
        HttpResponse<String> pub = call("PUT", "/names/pub/counter", json.writeValueAsString(Map.of("uri", "/ch/" + ch.getId())));
        assertThat(pub.statusCode()).as(pub.body()).isEqualTo(200);
        HttpResponse<String> sent = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/pub/counter"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("7")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(sent.statusCode()).as(sent.body()).isEqualTo(202);
        MessageBatch got = channels.receiveMessages(ch.getId(), 1, 10, null, null, null, null);
        assertThat(got.getMessages()).extracting(m -> ((Number) m.getValue()).intValue()).containsExactly(7);
        HttpResponse<String> get = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/pub/counter")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(get.statusCode()).isEqualTo(405);
        HttpResponse<String> channelItself = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/ch/" + ch.getId() + "/messages"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("8")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(channelItself.statusCode()).isEqualTo(401);
    }

    @Test
    void aChannelBelongsToItsCreatorAndOnlyItsOwnerMakesItPublic() throws Exception {
        String alice = userToken("alice"), bob = userToken("bob"), carol = userToken("carol");
        HttpResponse<String> made = as(alice, "POST", "/ch", "{\"type\":\"Int\",\"labels\":{\"readers\":\"carol\",\"owner\":\"bob\"}}", null);
        assertThat(made.statusCode()).as(made.body()).isEqualTo(201);
        JsonNode ch = json.readTree(made.body());
        // the creator is the owner, whatever owner label a user asks for
        assertThat(ch.get("owner").asString()).isEqualTo("alice");
        assertThat(ch.get("labels").get("readers").asString()).isEqualTo("carol");
        String id = ch.get("id").asString();
        String sendCap = ch.get("send").get("cap").asString();
        String path = "/ch/" + id;
        assertThat(json.readTree(as(alice, "GET", path, null, null).body()).get("owner").asString()).isEqualTo("alice");

        // someone else's channel: 403 to look at, send, receive, ack, close or clone
        for (String[] call : List.of(new String[] {"GET", path, null}, new String[] {"POST", path + "/messages", "1"},
                new String[] {"GET", path + "/messages?wait=0", null}, new String[] {"POST", path + "/ack", "{\"upTo\":1}"},
                new String[] {"DELETE", path, null}, new String[] {"POST", path + "/endpoints", "{\"end\":\"send\"}"},
                new String[] {"POST", path + "/endpoints", "{\"end\":\"recv\"}"})) {
            HttpResponse<String> r = as(bob, call[0], call[1], call[2], null);
            assertThat(r.statusCode()).as(call[0] + " " + call[1] + ": " + r.body()).isEqualTo(403);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).contains("problem+json"));
        }
        // a reader receives but may not send or close
        assertThat(as(carol, "GET", path + "/messages?wait=0", null, null).statusCode()).isEqualTo(200);
        assertThat(as(carol, "POST", path + "/messages", "2", null).statusCode()).isEqualTo(403);
        assertThat(as(carol, "DELETE", path, null, null).statusCode()).isEqualTo(403);
        // a capability is authority by itself: whoever was handed the send endpoint sends
        HttpResponse<String> withCap = as(bob, "POST", path + "/messages", "5", sendCap);
        assertThat(withCap.statusCode()).as(withCap.body()).isEqualTo(202);

        // only the owner publishes its send endpoint; then anyone may send through the public name
        HttpResponse<String> stolen = as(bob, "PUT", "/names/pub/alices-box", json.writeValueAsString(Map.of("uri", path)), null);
        assertThat(stolen.statusCode()).as(stolen.body()).isEqualTo(403);
        HttpResponse<String> pub = as(alice, "PUT", "/names/pub/alices-box", json.writeValueAsString(Map.of("uri", path)), null);
        assertThat(pub.statusCode()).as(pub.body()).isEqualTo(200);
        HttpResponse<String> outside = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/pub/alices-box"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("6")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(outside.statusCode()).as(outside.body()).isEqualTo(202);
        assertThat(receive(alice, path, 2, null)).containsExactly(5, 6);
        // the owner makes bob a writer in one request: he sends without a cap at once; he cannot make himself owner
        HttpResponse<String> grant = as(alice, "PATCH", path, "{\"set\":{\"writers\":\"bob\"}}", null);
        assertThat(grant.statusCode()).as(grant.body()).isEqualTo(200);
        assertThat(json.readTree(grant.body()).get("labels").get("writers").asString()).isEqualTo("bob");
        HttpResponse<String> byBob = as(bob, "POST", path + "/messages", "7", null);
        assertThat(byBob.statusCode()).as(byBob.body()).isEqualTo(202);
        assertThat(as(bob, "PATCH", path, "{\"set\":{\"owner\":\"bob\"}}", null).statusCode()).isEqualTo(403);
        assertThat(receive(alice, path, 1, null)).containsExactly(7);
        // the owner closes it
        assertThat(as(alice, "DELETE", path, null, null).statusCode()).isEqualTo(204);

        // a channel that asked for capabilities: sending and receiving always take a cap, even for its
        // owner; without one only the owner looks at it, clones from it and closes it
        JsonNode strict = json.readTree(as(alice, "POST", "/ch", "{\"type\":\"Int\",\"capabilities\":true}", null).body());
        String strictPath = "/ch/" + strict.get("id").asString();
        assertThat(as(alice, "GET", strictPath, null, null).statusCode()).isEqualTo(200);
        assertThat(as(bob, "GET", strictPath, null, null).statusCode()).isEqualTo(403);
        assertThat(as(alice, "POST", strictPath + "/messages", "1", null).statusCode()).isEqualTo(403);
        assertThat(as(alice, "GET", strictPath + "/messages?wait=0", null, null).statusCode()).isEqualTo(403);
        HttpResponse<String> cloned = as(alice, "POST", strictPath + "/endpoints", "{\"end\":\"recv\"}", null);
        assertThat(cloned.statusCode()).as(cloned.body()).isEqualTo(201);
        assertThat(as(bob, "POST", strictPath + "/messages", "2", strict.get("send").get("cap").asString()).statusCode()).isEqualTo(202);
        assertThat(receive(bob, strictPath, 1, json.readTree(cloned.body()).get("cap").asString())).containsExactly(2);
        assertThat(as(bob, "DELETE", strictPath, null, null).statusCode()).isEqualTo(403);
        assertThat(as(alice, "DELETE", strictPath, null, null).statusCode()).isEqualTo(204);
    }

    @Test
    void aSpaceBelongsToItsCreatorAndIsMadeWorldReadableInOneRequest() throws Exception {
        String alice = userToken("alice"), bob = userToken("bob");
        String space = "/fs/alices_notes";
        HttpResponse<String> made = as(alice, "PUT", space, "{\"key\":\"name\",\"attrs\":{\"text\":\"Str\"}}", null);
        assertThat(made.statusCode()).as(made.body()).isEqualTo(201);
        assertThat(as(alice, "PUT", space + "/n1", "{\"attrs\":{\"text\":\"private\"}}", null).statusCode()).isEqualTo(201);
        assertThat(as(alice, "PUT", space + "/n2", "{\"attrs\":{\"text\":\"for everyone\"}}", null).statusCode()).isEqualTo(201);

        // someone else's space: 403 to read or write; without a token: 401 (from the store, not a leak)
        assertThat(as(bob, "GET", space + "/n1", null, null).statusCode()).isEqualTo(403);
        assertThat(as(bob, "PUT", space + "/n3", "{\"attrs\":{\"text\":\"x\"}}", null).statusCode()).isEqualTo(403);
        HttpResponse<String> anonymous = anonymous("GET", space + "/n1");
        assertThat(anonymous.statusCode()).as(anonymous.body()).isEqualTo(401);
        assertThat(anonymous.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).contains("problem+json"));

        // one object made world-readable: that object only
        HttpResponse<String> one = as(alice, "PATCH", space + "/n2/labels", "{\"set\":{\"readers\":\"*\"}}", null);
        assertThat(one.statusCode()).as(one.body()).isEqualTo(200);
        HttpResponse<String> n2 = anonymous("GET", space + "/n2");
        assertThat(n2.statusCode()).as(n2.body()).isEqualTo(200);
        assertThat(json.readTree(n2.body()).get("attrs").get("text").asString()).isEqualTo("for everyone");
        assertThat(anonymous("GET", space + "/n1").statusCode()).isEqualTo(401);
        assertThat(anonymous("GET", space).statusCode()).isEqualTo(401);

        // the whole space made world-readable: one request by the owner (bob may not do it)
        assertThat(as(bob, "PATCH", space, "{\"set\":{\"readers\":\"*\"}}", null).statusCode()).isEqualTo(403);
        HttpResponse<String> pub = as(alice, "PATCH", space, "{\"set\":{\"readers\":\"*\"}}", null);
        assertThat(pub.statusCode()).as(pub.body()).isEqualTo(200);
        assertThat(anonymous("GET", space + "/n1").statusCode()).isEqualTo(200);
        HttpResponse<String> listed = anonymous("GET", space + "?fmt=JSON");
        assertThat(listed.statusCode()).as(listed.body()).isEqualTo(200);
        assertThat(json.readTree(listed.body()).size()).isEqualTo(2);
        assertThat(json.readTree(anonymous("GET", "/fs").body()).toString()).contains("alices_notes");
        // ... and nothing else became public: writing still needs a token, and bob may still not write
        assertThat(http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + space + "/n9"))
                .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString("{\"attrs\":{\"text\":\"x\"}}")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
        assertThat(as(bob, "PUT", space + "/n9", "{\"attrs\":{\"text\":\"x\"}}", null).statusCode()).isEqualTo(403);
        assertThat(anonymous("GET", "/fibrils").statusCode()).isEqualTo(401);
        assertThat(as(alice, "DELETE", space, null, null).statusCode()).isEqualTo(204);
    }

    @Test
    void aFibrilActsForItsSpawnerAndCannotWriteWhatItsSpawnerMayNot() throws Exception {
        String alice = userToken("alice"), bob = userToken("bob");
        assertThat(as(bob, "PUT", "/fs/bobs_counts", "{\"key\":\"word\",\"attrs\":{\"n\":\"Int\"}}", null).statusCode()).isEqualTo(201);
        assertThat(as(bob, "PATCH", "/fs/bobs_counts", "{\"set\":{\"readers\":\"alice\"}}", null).statusCode()).isEqualTo(200);
        String script = "var fs = require('fs'), jam = require('jam');"
                + " fs.invokeAll('bobs_counts', jam.count('a b a'), 'n'); 'wrote'";

        // alice may read bob's space but not write it: her fibril's combined increments are
        // refused by the store, and the fibril ends failed with the store's reason, not done
        JsonNode hers = finished(alice, script);
        assertThat(hers.get("owner").asString()).isEqualTo("alice");
        assertThat(hers.get("state").asString()).as(hers.toString()).isEqualTo("failed");
        assertThat(hers.get("error").asString()).contains("bobs_counts").contains("403");
        assertThat(json.readTree(as(bob, "GET", "/fs/bobs_counts?fmt=JSON", null, null).body()).size()).isZero();

        // the same script spawned by bob writes
        JsonNode his = finished(bob, script);
        assertThat(his.get("state").asString()).as(his.toString()).isEqualTo("done");
        JsonNode a = json.readTree(as(bob, "GET", "/fs/bobs_counts/a", null, null).body());
        assertThat(a.get("attrs").get("n").asLong()).isEqualTo(2);
        assertThat(as(bob, "DELETE", "/fs/bobs_counts", null, null).statusCode()).isEqualTo(204);
    }

    /** Spawns {@code source} as the token's subject through the gateway and waits for its end. */
    private static JsonNode finished(String token, String source) throws Exception {
        HttpResponse<String> spawned = as(token, "POST", "/fibrils", json.writeValueAsString(Map.of("source", source)), null);
        assertThat(spawned.statusCode()).as(spawned.body()).isEqualTo(201);
        String id = json.readTree(spawned.body()).get("id").asString();
        JsonNode f = json.readTree(as(token, "GET", "/fibrils/" + id + "?wait=30", null, null).body());
        for (int i = 0; i < 10 && !f.path("state").asString().matches("done|failed|killed"); i++) {
            f = json.readTree(as(token, "GET", "/fibrils/" + id + "?wait=30", null, null).body());
        }
        return f;
    }

    private static HttpResponse<String> anonymous(String method, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + path)).timeout(Duration.ofSeconds(60))
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void attacksOnTheEdgeAreRefusedWithProblemsBeforeReachingAService() throws Exception {
        // a BPF filter that tries the shell: 400 naming the field, even for an admin (nothing is run)
        HttpResponse<String> evil = call("GET", "/net/node=E0/tcpdmp?i=0&exp="
                + java.net.URLEncoder.encode("udp; rm -rf /", java.nio.charset.StandardCharsets.UTF_8), null);
        assertThat(evil.statusCode()).as(evil.body()).isEqualTo(400);
        assertThat(json.readTree(evil.body()).get("field").asString()).isEqualTo("exp");
        // traversal and encoded slashes never reach a route
        for (String path : List.of("/fs/a/%2e%2e/%2e%2e/names/bindings/x", "/fs/a%2Fb", "/a/x/%2E%2E/%2E%2E/net/node=E0/tcpdmp")) {
            HttpResponse<String> r = call("GET", path, null);
            assertThat(r.statusCode()).as(path).isEqualTo(400);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).contains("problem+json"));
        }
        // a genuine internal identity header copied by a client is worth nothing at the gateway
        String copied = constellation.internalIdentity().sign(dev.andromeda.common.security.Caller.of("admin", List.of("admin")),
                "GET", "/net/node=E0/tcpdmp");
        HttpResponse<String> noToken = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/net/node=E0/tcpdmp?i=0&exp=udp"))
                .header(dev.andromeda.common.security.InternalIdentity.HEADER, copied).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(noToken.statusCode()).isEqualTo(401);
        HttpResponse<String> asMallory = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/net/node=E0/tcpdmp?i=0&exp=udp"))
                .header("Authorization", "Bearer " + userToken("mallory"))
                .header(dev.andromeda.common.security.InternalIdentity.HEADER, copied).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(asMallory.statusCode()).isEqualTo(403);
        // a token signed with another key, or expired, is 401 wherever it is sent (never downgraded to anonymous)
        String forged = dev.andromeda.gateway.auth.Tokens.mint("not-this-constellations-secret-but-32-bytes", "admin", List.of("admin"), Duration.ofMinutes(5));
        String secret = Files.readString(constellation.home().resolve("secret")).trim();
        String expired = dev.andromeda.gateway.auth.Tokens.mint(secret, "admin", List.of("admin"), Duration.ofMinutes(-5));
        for (String token : List.of(forged, expired)) {
            for (String path : List.of("/fs", "/ch", "/net")) {
                assertThat(as(token, "GET", path, null, null).statusCode()).as(path).isEqualTo(401);
            }
        }
    }

    /** Receives until {@code n} messages came (a receive answers as soon as one is there), for at most 30 s. */
    private static List<Integer> receive(String token, String path, int n, String cap) throws Exception {
        List<Integer> got = new java.util.ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (got.size() < n && System.nanoTime() < deadline) {
            HttpResponse<String> r = as(token, "GET", path + "/messages?wait=5&max=10", null, cap);
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            json.readTree(r.body()).get("messages").forEach(m -> got.add(m.get("value").asInt()));
        }
        return got;
    }

    private static HttpResponse<String> as(String token, String method, String path, String body, String cap) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + path))
                .timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + token)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        if (cap != null) b.header("X-M31-Cap", cap);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theGatewayServesTheContractAndTraceContext() throws Exception {
        HttpResponse<String> yaml = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/openapi.yaml")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(yaml.statusCode()).isEqualTo(200);
        assertThat(yaml.body()).contains("/names/{alias}");
        HttpResponse<String> net = call("GET", "/net", null);
        assertThat(net.headers().firstValue("traceparent")).hasValueSatisfying(t -> assertThat(t).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01"));
        HttpResponse<String> tcpdmp = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/net/node=E0/tcpdmp?i=0&exp=udp"))
                .header("Authorization", "Bearer " + userToken("mallory")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(tcpdmp.statusCode()).isEqualTo(403);
    }

    private static String userToken(String subject) throws Exception {
        String secret = Files.readString(constellation.home().resolve("secret")).trim();
        return dev.andromeda.gateway.auth.Tokens.mint(secret, subject, List.of(), Duration.ofMinutes(5));
    }

    private static void dropWords() throws Exception {
        HttpResponse<String> r = call("DELETE", "/fs/words", null);
        assertThat(r.statusCode()).isIn(204, 404);
    }

    private static ApiClient client() {
        ApiClient c = new ApiClient();
        c.updateBaseUri(constellation.gatewayUrl());
        c.setRequestInterceptor(b -> b.header("Authorization", "Bearer " + constellation.token()));
        return c;
    }

    static HttpResponse<String> call(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + path))
                .timeout(Duration.ofSeconds(90))
                .header("Authorization", "Bearer " + constellation.token())
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
