package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.fibril.nucleus.Fibril;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The nucleus side of channels on the fake mantle: retried sends keep their key, a full channel
 * parks the sender for its Retry-After, sends of many fibrils go as group-committed batches, and
 * receiving takes leased batches and acknowledges only what was consumed.
 */
class ChanSendRecvTest {

    TestNode node;

    @BeforeEach
    void start() { node = new TestNode(); }

    @AfterEach
    void stop() { node.close(); }

    @Test
    void aSendWhoseAnswerWasLostIsRetriedWithTheSameKeyAndArrivesOnce() {
        node.mantle.failNextSendsAfterTaking.set(3);
        Fibril f = node.run("var chan = require('chan'); var p = chan.open();"
                + " p[0].send('once'); var a = p[1].recv(); [a, p[1].recv === undefined]");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().get(0).asString()).isEqualTo("once");
        List<String> keys = node.mantle.sendKeys;
        assertThat(keys).hasSize(4);
        assertThat(keys).containsOnly(keys.get(0));
        String ch = node.mantle.channels.keySet().iterator().next();
        // the three retries were duplicates: nothing else is in the channel
        assertThat(node.mantle.receive(ch, node.mantle.caps(ch)[1], 0, 10, 0, 0).join().values()).isEmpty();
    }

    @Test
    void aFullChannelParksTheSenderForItsRetryAfter() {
        node.mantle.fullNextSends.set(1);
        Fibril f = node.run("var chan = require('chan'); var p = chan.open('Int', {capacity: 5});"
                + " var t0 = Date.now(); p[0].send(1); [Date.now() - t0, p[1].recv()]");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().get(0).asLong()).isGreaterThanOrEqualTo(900);
        assertThat(f.result().get(1).asInt()).isEqualTo(1);
        assertThat(node.mantle.sendKeys).hasSize(2).containsOnly(node.mantle.sendKeys.get(0));
    }

    @Test
    void aSyncSendWaitsAtTheServiceAndIsSentAgainAfterEachWithdrawal() {
        node.mantle.withdrawNextSyncSends.set(3);
        Fibril f = node.run("var chan = require('chan'), sys = require('sys'); var p = chan.open('Int', {mode: 'sync'});"
                + " var kid = sys.spawn(function (r) { return r.recv(); }, [p[1]]);"
                + " p[0].send(7); kid[1].recv().ok");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().asInt()).isEqualTo(7);
        // four attempts, one key, each a rendezvous wait at the service; the message arrived once
        List<String> mine = node.mantle.sendKeys.stream().filter(k -> k.startsWith(f.id())).toList();
        assertThat(mine).hasSize(4).containsOnly(f.id() + ":1");
        assertThat(node.mantle.syncWaits).contains(10);
    }

    /** Fifty round trips between a parent and its child over two sync channels of one node. */
    static final String PING_PONG = "var chan = require('chan'), sys = require('sys');"
            + " var ping = chan.open('Int', {mode: 'sync'}), pong = chan.open('Int', {mode: 'sync'});"
            + " function child(inp, out) { for (var i = 0; i < 50; i++) out.send(inp.recv() * 2); }"
            + " sys.spawn(child, [ping[1], pong[0]]);"
            + " var got = []; for (var i = 0; i < 50; i++) { ping[0].send(i); got.push(pong[1].recv()); } got";

    @Test
    void syncSendsBetweenFibrilsOfOneNodeAreHandedOverInMemoryInOrderAndOnce() {
        Fibril f = node.run(PING_PONG);
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        for (int i = 0; i < 50; i++) assertThat(f.result().get(i).asInt()).as("round %d", i).isEqualTo(2 * i);
        long inMemory = node.nucleus.modules().handedInMemory();
        // the first sends of each end go through the service (that is what lets an end use the path);
        // after that, a waiting receiver takes them here
        assertThat(inMemory).isGreaterThanOrEqualTo(50);
        assertThat(node.mantle.sendKeys.stream().filter(k -> !k.endsWith(":end")).count() + inMemory).isEqualTo(100);
        // nothing handed over is left in the service to be received twice (only the child's end report, never read)
        for (String ch : node.mantle.channels.keySet()) {
            assertThat(node.mantle.receive(ch, node.mantle.caps(ch)[1], 0, 100, 0, 0).join().values()).as(ch).allMatch(v -> v.has("ok"));
        }
    }

    @Test
    void withTheInMemoryPathOffEverySyncSendGoesThroughTheService() {
        try (TestNode off = new TestNode(s -> s.setLocalRendezvous(java.time.Duration.ZERO))) {
            Fibril f = off.run(PING_PONG);
            assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
            assertThat(f.result().get(49).asInt()).isEqualTo(98);
            assertThat(off.nucleus.modules().handedInMemory()).isZero();
            assertThat(off.mantle.sendKeys.stream().filter(k -> !k.endsWith(":end"))).hasSize(100);
        }
    }

    @Test
    void aMessageOfTheWrongTypeIsNeverHandedOverAndGetsTheServicesAnswer() {
        node.mantle.wrongType = v -> v.isString();
        Fibril f = node.run("var chan = require('chan'), sys = require('sys');"
                + " var ping = chan.open('Int', {mode: 'sync'}), pong = chan.open('Int', {mode: 'sync'});"
                + " function child(inp, out) { var v; while ((v = inp.recv()) !== -1) out.send(typeof v === 'number' ? v : -100); }"
                + " sys.spawn(child, [ping[1], pong[0]]);"
                + " var got = []; for (var i = 0; i < 10; i++) { ping[0].send(i); got.push(pong[1].recv()); }"
                + " var refused; try { ping[0].send('seven'); } catch (e) { refused = String(e.message); }"
                + " ping[0].send(5); got.push(pong[1].recv()); ping[0].send(-1); [got, refused]");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(node.nucleus.modules().handedInMemory()).as("the path was in use").isPositive();
        assertThat(f.result().get(1).asString()).contains("type");
        // the child never saw the string: after the refusal the next number came next
        assertThat(f.result().get(0).toString()).isEqualTo("[0,1,2,3,4,5,6,7,8,9,5]");
    }

    @Test
    void anAsyncSendGoesOnAtOnceAndItsFibrilEndsOnlyWhenTheMessageIsDurable() {
        // every batch POST takes 300 ms: a fibril that waited for each of its 5 sends would take 1.5 s
        node.mantle.sendDelayMs = 300;
        Fibril f = node.run("var chan = require('chan'), sys = require('sys'); var p = chan.open('Int');"
                + " var t0 = sys.clock(); for (var i = 0; i < 5; i++) p[0].send(i); [sys.clock() - t0, p[1]]");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().get(0).asDouble()).isLessThan(250);
        // ended means durable: all five are at the service, in order, once
        String ch = f.result().get(1).path("$ch").asString().substring(4);
        assertThat(node.mantle.receive(ch, f.result().get(1).path("cap").asString(), 0, 10, 0, 0).join().values())
                .extracting(JsonNode::asInt).containsExactly(0, 1, 2, 3, 4);
    }

    @Test
    void aWrongTypeIsThrownByTheSendThatMadeItWhenTheNodeKnowsTheType() {
        node.mantle.wrongType = v -> !v.isIntegralNumber();
        Fibril f = node.run("var chan = require('chan'); var p = chan.open('Int'), why;"
                + " p[0].send(1); try { p[0].send('two'); } catch (e) { why = String(e.message); } p[0].send(3);"
                + " [why, p[1].recv(), p[1].recv()]");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().get(0).asString()).contains("type");
        assertThat(f.result().get(1).asInt()).isEqualTo(1);
        assertThat(f.result().get(2).asInt()).isEqualTo(3);
    }

    @Test
    void aRefusedAsyncSendIsThrownByTheNextSendAndFailsAFibrilThatNeverSendsAgain() {
        Fibril f = node.run("var chan = require('chan'), sys = require('sys'); var p = chan.open('Int'), why;"
                + " p[0].send(1); sys.sleep(100); p[0].send(2); sys.sleep(100);"
                + " try { p[0].send(3); } catch (e) { why = String(e.message); } why");
        // nothing failed: the third send went through
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        node.mantle.goneNextSends.set(1);
        Fibril g = node.run("var chan = require('chan'), sys = require('sys'); var p = chan.open('Int'), why;"
                + " p[0].send(1); sys.sleep(200); try { p[0].send(2); } catch (e) { why = String(e.message); } why");
        assertThat(g.state()).as(g.error()).isEqualTo(Fibril.State.DONE);
        assertThat(g.result().asString()).contains("an earlier send").contains("closed");
        node.mantle.goneNextSends.set(1);
        Fibril h = node.run("var chan = require('chan'); var p = chan.open('Int'); p[0].send(1); 'said it sent'");
        assertThat(h.state()).isEqualTo(Fibril.State.FAILED);
        assertThat(h.error()).contains("an earlier send").contains("closed");
    }

    @Test
    void chanOpenRefusesABadModeOrCapacity() {
        Fibril f = node.run("var chan = require('chan'), r = [];"
                + " try { chan.open('Int', {mode: 'fast'}); } catch (e) { r.push(String(e.message)); }"
                + " try { chan.open('Int', {capacity: 0.5}); } catch (e) { r.push(String(e.message)); } r");
        assertThat(f.result().get(0).asString()).contains("mode");
        assertThat(f.result().get(1).asString()).contains("capacity");
    }

    @Test
    void sendsOfManyFibrilsGoAsBatchesAndKeepEachSendersOrder() {
        String ch = node.mantle.openChannel(TestNode.F.objectNode().put("capabilities", true)).join().id();
        String[] caps = node.mantle.caps(ch);
        List<Fibril> senders = new ArrayList<>();
        String live = "var a = require('sys').args, out = a[0];"
                + " for (var i = 0; i < 40; i++) out.send(a[1] + ':' + i); 'sent'";
        for (int s = 0; s < 30; s++) {
            senders.add(node.nucleus.spawn(new dev.andromeda.fibril.nucleus.SpawnSpec(dev.andromeda.fibril.nucleus.Program.Kind.SCRIPT,
                    live, null, TestNode.F.arrayNode().add(TestNode.F.objectNode().put("$ch", "/ch/" + ch).put("end", "send").put("cap", caps[0]))
                            .add("s" + s), TestNode.F.objectNode(), null, null, null)));
        }
        for (Fibril f : senders) {
            Fibril done = TestNode.await(f, TestNode.seconds(60));
            assertThat(done.state()).as(done.error()).isEqualTo(Fibril.State.DONE);
        }
        List<JsonNode> got = new ArrayList<>();
        while (true) {
            var r = node.mantle.receive(ch, caps[1], 0, 10_000, 0, 0).join();
            if (r.values().isEmpty()) break;
            got.addAll(r.values());
        }
        assertThat(got).hasSize(30 * 40);
        Map<String, Integer> next = new HashMap<>();
        for (JsonNode v : got) {
            String[] sv = v.asString().split(":");
            int want = next.getOrDefault(sv[0], 0);
            assertThat(Integer.parseInt(sv[1])).as("sender %s in order", sv[0]).isEqualTo(want);
            next.put(sv[0], want + 1);
        }
        // group commit: sends that came while a POST was in flight went together
        assertThat(node.mantle.batches).isNotEmpty();
        assertThat(node.mantle.batches.stream().mapToInt(Integer::intValue).max().orElse(0)).isGreaterThan(1);
    }

    @Test
    void aBatchRefusedForOneMessageFailsOnlyThatSender() {
        node.mantle.wrongType = v -> v.isString() && v.asString().startsWith("bad");
        String ch = node.mantle.openChannel(TestNode.F.objectNode().put("capabilities", true)).join().id();
        String[] caps = node.mantle.caps(ch);
        String script = "var a = require('sys').args, out = a[0], r = [];"
                + " for (var i = 0; i < 10; i++) { try { out.send(a[1] + i); r.push('ok'); } catch (e) { r.push(String(e.message)); } } r";
        List<Fibril> fs = new ArrayList<>();
        for (int s = 0; s < 20; s++) {
            fs.add(node.nucleus.spawn(new dev.andromeda.fibril.nucleus.SpawnSpec(dev.andromeda.fibril.nucleus.Program.Kind.SCRIPT,
                    script, null, TestNode.F.arrayNode().add(TestNode.F.objectNode().put("$ch", "/ch/" + ch).put("end", "send").put("cap", caps[0]))
                            .add(s == 7 ? "bad" : "good" + s + ":"), TestNode.F.objectNode(), null, null, null)));
        }
        for (int s = 0; s < 20; s++) {
            Fibril f = TestNode.await(fs.get(s), TestNode.seconds(60));
            if (s == 7) {
                // its sends went on before the service judged them (the fake does not tell the node the type):
                // the refusal is thrown by its next send, and what it has not heard of fails it at its end
                assertThat(f.state() == Fibril.State.FAILED ? f.error() : f.result().toString()).contains("type");
            } else {
                assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
                assertThat(f.result().valueStream().map(JsonNode::asString).toList()).containsOnly("ok");
            }
        }
        List<JsonNode> got = new ArrayList<>();
        for (var r = node.mantle.receive(ch, caps[1], 0, 10_000, 0, 0).join(); !r.values().isEmpty();
             r = node.mantle.receive(ch, caps[1], 0, 10_000, 0, 0).join()) {
            got.addAll(r.values());
        }
        // every good message arrived once, none of the bad ones, though batches holding one were refused whole
        assertThat(node.mantle.refusedBatches.get()).isPositive();
        assertThat(got).hasSize(19 * 10);
        assertThat(got.stream().map(JsonNode::asString).distinct().count()).isEqualTo(190);
        assertThat(got).noneMatch(v -> v.asString().startsWith("bad"));
    }

    @Test
    void receivingTakesBatchesAndAcknowledgesOnlyWhatWasConsumed() throws Exception {
        Fibril f = node.run("var chan = require('chan'), sys = require('sys'); var p = chan.open('Int');"
                + " for (var i = 1; i <= 250; i++) p[0].send(i);"
                + " var sum = 0; for (var j = 0; j < 120; j++) sum += p[1].recv();"
                + " [sum, p[1].$ch, p[1].cap]");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().get(0).asLong()).isEqualTo(120L * 121 / 2);
        String ch = f.result().get(1).asString().substring(4);
        // 120 consumed and acknowledged (each poll acked what came before it, the end the rest)
        assertThat(node.mantle.acks.get(ch)).isEqualTo(120L);
        // polls take 1, 2, 4… (1+2+4+…+64 = 127 covers 120 in seven polls when each gets all it asks
        // for; the sends went on before their messages were there, so a poll may get fewer, and
        // the next one still asks for twice as many)
        List<Integer> maxes = node.mantle.receiveMaxes;
        assertThat(maxes.subList(0, 7)).containsExactly(1, 2, 4, 8, 16, 32, 64);
        for (int i = 1; i < maxes.size(); i++) assertThat(maxes.get(i)).isEqualTo(Math.min(5000, 2 * maxes.get(i - 1)));
    }

    /** A channel of Ints opened at the fake service, its messages 1..n sent, and its recv endpoint as a spawn argument. */
    private tools.jackson.databind.node.ObjectNode sharedEndpoint(dev.andromeda.fibril.mantle.Mantle.Opened o) {
        return TestNode.F.objectNode().put("$ch", "/ch/" + o.id()).put("end", "recv").put("cap", o.recvCap());
    }

    private dev.andromeda.fibril.mantle.Mantle.Opened openInts() {
        return node.mantle.openChannel(TestNode.F.objectNode().put("type", "Int").put("mode", "async").put("capabilities", true)).join();
    }

    private void sendInts(dev.andromeda.fibril.mantle.Mantle.Opened o, int from, int to) {
        for (int i = from; i <= to; i++) node.mantle.send(o.id(), o.sendCap(), TestNode.F.numberNode(i), "k" + i, 0).join();
    }

    private Fibril spawnWith(String script, JsonNode arg) {
        return node.nucleus.spawn(new dev.andromeda.fibril.nucleus.SpawnSpec(dev.andromeda.fibril.nucleus.Program.Kind.SCRIPT, script, null,
                TestNode.F.arrayNode().add(arg), TestNode.F.objectNode(), null, null, null));
    }

    private static void awaitTrue(java.util.function.BooleanSupplier cond, String what) throws InterruptedException {
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("never: " + what);
            Thread.sleep(20);
        }
    }

    @Test
    void twoFibrilsSharingAReceiveEndpointConsumeEveryMessageOnceThoughOneDiesHoldingALease() throws Exception {
        node.mantle.leaseSeconds = 1;
        var o = openInts();
        sendInts(o, 1, 5);
        JsonNode recv = sharedEndpoint(o);
        // A takes the first message and hangs: to the service it is dead, its lease runs out
        Fibril a = spawnWith("var sys = require('sys'), v = sys.args[0].recv(); sys.sleep(60000); v", recv);
        awaitTrue(() -> node.mantle.leasesOut(o.id()) == 1, "A holds a lease");
        // B, on the same endpoint, consumes 2..5 and waits; A's lease runs out; 6..10 come
        Fibril b = spawnWith("var r = require('sys').args[0], got = []; for (var i = 0; i < 9; i++) got.push(r.recv()); got", recv);
        Thread.sleep(1500);
        sendInts(o, 6, 10);
        TestNode.await(b, java.time.Duration.ofSeconds(20));
        assertThat(b.state()).as(b.error()).isEqualTo(Fibril.State.DONE);
        // A's message comes to B, first of what B had not seen, before what is new
        assertThat(b.result().valueStream().map(JsonNode::asInt).toList()).containsExactly(2, 3, 4, 5, 1, 6, 7, 8, 9);
        node.nucleus.kill(a.id());
        TestNode.await(a, java.time.Duration.ofSeconds(10));
        // the rest, for a plain receiver; then every message was acknowledged exactly once
        assertThat(node.mantle.receive(o.id(), o.recvCap(), 0, 10, 0, 0).join().values()).extracting(JsonNode::asInt).containsExactly(10);
        Map<Long, Integer> acked = node.mantle.ackedCounts(o.id());
        assertThat(acked.keySet()).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
        assertThat(acked.values()).allMatch(n -> n == 1);
    }

    @Test
    void whatAFibrilConsumedAndComesAgainAfterTheServiceForgotItsLeaseIsDroppedAndAcknowledged() throws Exception {
        var o = openInts();
        sendInts(o, 1, 3);
        Fibril f = spawnWith("var sys = require('sys'), r = sys.args[0], got = [];"
                + " for (var i = 0; i < 3; i++) got.push(r.recv()); sys.sleep(1500);"
                + " for (var j = 0; j < 3; j++) got.push(r.recv()); got", sharedEndpoint(o));
        // it consumed 1..3 (2 and 3 not yet acknowledged) and sleeps: the service restarts, 4..6 come
        awaitTrue(() -> node.mantle.receiveMaxes.size() >= 2 && node.mantle.leasesOut(o.id()) == 1, "the second poll");
        Thread.sleep(300);
        node.mantle.forgetLeases(o.id());
        sendInts(o, 4, 6);
        TestNode.await(f, java.time.Duration.ofSeconds(20));
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().valueStream().map(JsonNode::asInt).toList()).containsExactly(1, 2, 3, 4, 5, 6);
        Map<Long, Integer> acked = node.mantle.ackedCounts(o.id());
        assertThat(acked.keySet()).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
        assertThat(acked.values()).allMatch(n -> n == 1);
    }

    @Test
    void aFibrilKilledWhileItsPollWaitsGivesWhatThePollTookBackAtOnce() throws Exception {
        var o = openInts();
        Fibril f = spawnWith("require('sys').args[0].recv()", sharedEndpoint(o));
        awaitTrue(() -> !node.mantle.receiveMaxes.isEmpty(), "the poll waits at the service");
        Thread.sleep(100);
        node.nucleus.kill(f.id());
        TestNode.await(f, java.time.Duration.ofSeconds(10));
        // the waiting poll takes the message under a lease of 120 s for a fibril that is gone
        sendInts(o, 1, 1);
        awaitTrue(() -> node.mantle.leasesOut(o.id()) == 0, "the dead fibril's lease given back");
        assertThat(node.mantle.receive(o.id(), o.recvCap(), 0, 10, 0, 0).join().values()).extracting(JsonNode::asInt).containsExactly(1);
    }
}
