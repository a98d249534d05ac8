package dev.andromeda.channel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.testing.TestHttp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Several receivers sharing one cursor with ack=manual (a worker pool): each receive is a lease
 * of its own, acknowledged and given back on its own, so one receiver's ack never covers what
 * another still holds, and what a dead receiver held comes again — first, in order.
 */
class ChannelLeaseTest extends ChannelTestBase {

    /** One manual receive's answer. */
    record Leased(List<JsonNode> messages, long leaseId) {
        List<Integer> ints() { return ChannelTestBase.ints(messages); }
        long seq(int i) { return messages.get(i).get("seq").asLong(); }
        long lastSeq() { return seq(messages.size() - 1); }
    }

    @Test
    void aReceiversAckWithItsLeaseLeavesTheOtherReceiversMessagesAndTheyComeAgainWhenItDies() {
        JsonNode ch = create("{\"type\":\"Int\",\"capabilities\":true}");
        String path = ch.get("uri").asString();
        String sendCap = ch.get("send").get("cap").asString();
        String capA = ch.get("recv").get("cap").asString();
        // B receives through a shared clone: the same cursor
        var clone = withCap("POST", path + "/endpoints", "{\"end\":\"recv\",\"mode\":\"shared\"}", capA);
        assertThat(clone.status()).as(clone.body()).isEqualTo(201);
        String capB = clone.json().get("cap").asString();
        for (int i = 1; i <= 10; i++) assertThat(withCap("POST", path + "/messages", Integer.toString(i), sendCap).status()).isEqualTo(202);
        awaitBacklog(path, capA, 10);

        Leased a = receive(path, capA, 5, 1);
        assertThat(a.ints()).containsExactly(1, 2, 3, 4, 5);
        Leased b = receive(path, capB, 5, 30);
        assertThat(b.ints()).containsExactly(6, 7, 8, 9, 10);

        // B consumed its five and acknowledges them with its lease: A's five are not acknowledged
        var acked = ack(path, capB, b.lastSeq(), b.leaseId(), false);
        assertThat(acked.status()).as(acked.body()).isEqualTo(200);
        assertThat(acked.json().get("acked").asLong()).isLessThan(a.seq(0));
        assertThat(received(path, capA)).isEqualTo(5);
        assertThat(a.leaseId()).isNotZero().isNotEqualTo(b.leaseId());

        // A dies: its lease (1 s) runs out; 11 is sent meanwhile. B gets A's five first, in order, then 11
        sleep(1300);
        assertThat(withCap("POST", path + "/messages", "11", sendCap).status()).isEqualTo(202);
        awaitBacklog(path, capA, 11);
        Leased again = receive(path, capB, 10, 30);
        assertThat(again.ints()).containsExactly(1, 2, 3, 4, 5, 11);
        // B's earlier ack was not undone by A's lease running out: 6..10 never come again
        assertThat(ack(path, capB, again.lastSeq(), again.leaseId(), false).json().get("acked").asLong()).isEqualTo(again.lastSeq());
        assertThat(received(path, capA)).as("every message acknowledged exactly once").isEqualTo(11);
        assertThat(withCap("GET", path + "/messages?wait=1&ack=manual", null, capA).json().get("messages").size()).isZero();
    }

    @Test
    void releaseWithALeaseGivesBackOnlyThatLeasesRest() {
        String path = create("{\"type\":\"Int\"}").get("uri").asString();
        for (int i = 1; i <= 6; i++) send(path, Integer.toString(i));
        awaitBacklog(path, null, 6);
        Leased a = receive(path, null, 3, 600);
        Leased b = receive(path, null, 3, 600);
        assertThat(a.ints()).containsExactly(1, 2, 3);
        assertThat(b.ints()).containsExactly(4, 5, 6);

        // A consumed one and stops: 2 and 3 go to the next receiver at once; B's three stay B's
        assertThat(ack(path, null, a.seq(0), a.leaseId(), true).json().get("acked").asLong()).isEqualTo(a.seq(0));
        Leased c = receive(path, null, 10, 600);
        assertThat(c.ints()).containsExactly(2, 3);
        assertThat(http.get(path + "/messages?wait=1&max=10&ack=manual").json().get("messages").size()).isZero();

        // the combined receive acknowledges C's lease (upTo + leaseId) and finds nothing new
        var next = http.get(path + "/messages?wait=0&ack=manual&upTo=" + c.lastSeq() + "&leaseId=" + c.leaseId());
        assertThat(next.status()).as(next.body()).isEqualTo(200);
        assertThat(received(path, null)).isEqualTo(3);
        assertThat(ack(path, null, b.lastSeq(), b.leaseId(), false).json().get("acked").asLong()).isEqualTo(b.lastSeq());
        assertThat(received(path, null)).isEqualTo(6);
        assertProblem(http.get(path + "/messages?ack=manual&leaseId=" + b.leaseId()), 400, "leaseId");
        assertProblem(http.post(path + "/ack?leaseId=x", "{\"upTo\":1}"), 400, "leaseId");
    }

    @Test
    void aLateAckOfAnExpiredLeaseAcknowledgesWhatNobodyTookSinceAndNothingElse() {
        String path = create("{\"type\":\"Int\"}").get("uri").asString();
        for (int i = 1; i <= 5; i++) send(path, Integer.toString(i));
        awaitBacklog(path, null, 5);
        Leased a = receive(path, null, 3, 1);
        Leased a2 = receive(path, null, 2, 1);
        assertThat(a.ints()).containsExactly(1, 2, 3);
        assertThat(a2.ints()).containsExactly(4, 5);
        sleep(1300);
        // both ran out: everything came back, and B takes the first two of it
        Leased b = receive(path, null, 2, 30);
        assertThat(b.ints()).containsExactly(1, 2);
        // A's late ack: 3 (given back, nobody took it since) is acknowledged; 1 and 2 are B's now
        ack(path, null, a.lastSeq(), a.leaseId(), false);
        assertThat(received(path, null)).isEqualTo(1);
        Leased rest = receive(path, null, 10, 30);
        assertThat(rest.ints()).as("3 was acknowledged late, so it does not come again").containsExactly(4, 5);
        // a lease nobody knows acknowledges nothing
        assertThat(ack(path, null, rest.lastSeq(), 12345L, false).status()).isEqualTo(200);
        assertThat(received(path, null)).isEqualTo(1);
        ack(path, null, b.lastSeq(), b.leaseId(), false);
        ack(path, null, rest.lastSeq(), rest.leaseId(), false);
        assertThat(received(path, null)).isEqualTo(5);
        assertThat(http.get(path).json().get("endpoints").get(1).get("position").asLong()).isEqualTo(rest.lastSeq());
    }

    @Test
    void anAutoReceiverTakesWhatAManualOneGaveBackAndTheCumulativeAckStillCoversTheCursor() {
        String path = create("{\"type\":\"Int\"}").get("uri").asString();
        for (int i = 1; i <= 4; i++) send(path, Integer.toString(i));
        awaitBacklog(path, null, 4);
        Leased a = receive(path, null, 2, 600);
        Leased b = receive(path, null, 1, 600);
        assertThat(ack(path, null, a.lastSeq(), a.leaseId(), true).status()).isEqualTo(200);
        // 3 is B's; an auto receive gets 4 and acknowledges it out of order
        var auto = http.get(path + "/messages?wait=1&max=10");
        assertThat(ints(list(auto.json().get("messages")))).containsExactly(4);
        assertThat(received(path, null)).isEqualTo(3);
        // without leaseId the ack is the cursor's, whoever holds the message (the single receiver's way)
        assertThat(http.post(path + "/ack", "{\"upTo\":" + b.lastSeq() + "}").json().get("acked").asLong())
                .isEqualTo(auto.json().get("messages").get(0).get("seq").asLong());
        assertThat(received(path, null)).isEqualTo(4);
    }

    @Test
    void aResumingStreamAcknowledgesWhatTheStreamDeliveredAndLeavesALongPollReceiversLease() throws Exception {
        String path = create("{\"type\":\"Int\"}").get("uri").asString();
        for (int i = 1; i <= 4; i++) send(path, Integer.toString(i));
        awaitBacklog(path, null, 4);
        Leased b = receive(path, null, 2, 600);
        assertThat(b.ints()).containsExactly(1, 2);
        // a stream on the same cursor gets what B does not hold; its client processed 3 and reconnects
        List<JsonNode> first = streamLines(path + "/messages", 2);
        assertThat(ints(first)).containsExactly(3, 4);
        List<JsonNode> resumed = streamLines(path + "/messages?after=" + first.get(0).get("seq").asLong(), 1);
        assertThat(ints(resumed)).containsExactly(4);
        // 3 is acknowledged; B's 1 and 2 are still B's: not acknowledged, not handed to anyone else
        assertThat(received(path, null)).isEqualTo(1);
        assertThat(http.get(path + "/messages?wait=1&ack=manual&lease=600").json().get("messages").size()).as("4 is the stream's").isZero();
        assertThat(ack(path, null, b.lastSeq(), b.leaseId(), false).json().get("acked").asLong()).isEqualTo(first.get(0).get("seq").asLong());
        assertThat(received(path, null)).isEqualTo(3);
    }

    // --- helpers ------------------------------------------------------------------------------

    private static final java.net.http.HttpClient CLIENT = java.net.http.HttpClient.newHttpClient();

    /** Reads {@code n} NDJSON messages of a stream, then drops it. */
    List<JsonNode> streamLines(String path, int n) throws Exception {
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(http.base() + path)).header("Accept", "application/x-ndjson").build();
        var resp = CLIENT.sendAsync(req, java.net.http.HttpResponse.BodyHandlers.ofInputStream()).get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(resp.statusCode()).isEqualTo(200);
        List<JsonNode> out = new ArrayList<>();
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(resp.body(), java.nio.charset.StandardCharsets.UTF_8))) {
            for (String line; out.size() < n && (line = in.readLine()) != null; ) {
                if (!line.isBlank()) out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    Leased receive(String path, String cap, int max, int leaseSeconds) {
        var r = withCap("GET", path + "/messages?wait=5&ack=manual&max=" + max + "&lease=" + leaseSeconds, null, cap);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return new Leased(list(r.json().get("messages")), r.json().path("leaseId").asLong(0));
    }

    TestHttp.Response ack(String path, String cap, long upTo, long leaseId, boolean release) {
        var r = withCap("POST", path + "/ack?leaseId=" + leaseId + (release ? "&release=true" : ""), "{\"upTo\":" + upTo + "}", cap);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r;
    }

    long received(String path, String cap) {
        return withCap("GET", path, null, cap).json().get("received").asLong();
    }

    /** Waits until the channel's own cursor has {@code n} messages read from Kafka beyond its floor. */
    void awaitBacklog(String path, String cap, long n) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        long backlog = -1;
        while (System.nanoTime() < deadline) {
            JsonNode r0 = withCap("GET", path, null, cap).json().get("endpoints").get(1);
            backlog = r0.path("backlog").asLong(-1);
            if (backlog >= n) return;
            sleep(50);
        }
        assertThat(backlog).isGreaterThanOrEqualTo(n);
    }

    static List<JsonNode> list(JsonNode array) {
        List<JsonNode> l = new ArrayList<>();
        array.forEach(l::add);
        return l;
    }
}
