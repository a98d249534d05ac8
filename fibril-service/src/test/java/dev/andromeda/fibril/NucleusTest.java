package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.fibril.nucleus.Fibril;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Continuations, scheduling and the modules that need no network, on a fake mantle. */
class NucleusTest {

    static TestNode node;

    @BeforeAll
    static void start() { node = new TestNode(); }

    @AfterAll
    static void stop() { node.close(); }

    @Test
    void aScriptEndsWithTheValueOfItsLastExpression() {
        Fibril f = node.run("var x = 6; x * 7");
        assertThat(f.state()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().toString()).isEqualTo("42");
    }

    @Test
    void resultsAreJsonWithIntegralNumbersAsIntegers() {
        Fibril f = node.run("({a: 1, b: [1.5, 'x', true, null, undefined], c: undefined, d: {e: -0.25}, f: function(){}})");
        assertThat(f.result().toString()).isEqualTo("{\"a\":1,\"b\":[1.5,\"x\",true,null,null],\"d\":{\"e\":-0.25}}");
    }

    @Test
    void sysExitEndsTheFibrilPastTryAndFinally() {
        Fibril f = node.run("var sys = require('sys'); try { sys.exit({code: 3}); } catch (e) { 'caught' } finally { 'finally' }");
        assertThat(f.state()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().toString()).isEqualTo("{\"code\":3}");
    }

    @Test
    void anUncaughtErrorFailsTheFibrilWithItsLine() {
        Fibril f = node.run("var a = 1;\nfunction g() { throw new Error('boom'); }\ng();");
        assertThat(f.state()).isEqualTo(Fibril.State.FAILED);
        assertThat(f.error()).contains("boom").contains("line 2");
    }

    @Test
    void argsEnvSelfAndTypes() {
        Fibril f = node.run("var sys = require('sys');"
                + "[sys.args[0], sys.args[1] + 1, sys.self().node, String(Int), String(Float), Int.incr(5).n === undefined, sys.SUCCESS, sys.parent]",
                "hello", 41);
        assertThat(f.result().toString()).isEqualTo("[\"hello\",42,\"T0\",\"Int\",\"Float\",true,\"SUCCESS\",null]");
    }

    @Test
    void sleepingParksAndResumesWithLocalsIntact() {
        Fibril f = node.run("var sys = require('sys'); var acc = []; for (var i = 0; i < 5; i++) { sys.sleep(5); acc.push(i * i); } acc.join(',')");
        assertThat(f.result().asString()).isEqualTo("0,1,4,9,16");
    }

    @Test
    void sysClockIsAMonotonicMillisecondClockWithAFraction() {
        Fibril f = node.run("var sys = require('sys'); var a = sys.clock(), b = sys.clock(); sys.sleep(30); var c = sys.clock();"
                + " [typeof a, (a % 1 !== 0) || (b % 1 !== 0), c - a, b >= a]");
        assertThat(f.result().get(0).asString()).isEqualTo("number");
        // finer than Date.now()'s whole milliseconds, and it never goes back
        assertThat(f.result().get(1).asBoolean()).isTrue();
        assertThat(f.result().get(2).asDouble()).isBetween(29.0, 5000.0);
        assertThat(f.result().get(3).asBoolean()).isTrue();
    }

    @Test
    void tenThousandFibrilsSleepAtOnceAndAllFinish() {
        String script = "var sys = require('sys'); sys.sleep(300); sys.args[0] * 2";
        List<Fibril> all = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) all.add(node.spawn(script, i));
        // while they sleep, both carriers are free: a short fibril runs at once
        Fibril quick = node.run("1 + 1", Duration.ofSeconds(5));
        assertThat(quick.result().asInt()).isEqualTo(2);
        long parked = all.stream().filter(f -> f.state() == Fibril.State.PARKED).count();
        assertThat(parked).isGreaterThan(1000);
        for (int i = 0; i < all.size(); i++) {
            Fibril f = TestNode.await(all.get(i), Duration.ofSeconds(40));
            assertThat(f.state()).isEqualTo(Fibril.State.DONE);
            assertThat(f.result().asLong()).isEqualTo(2L * i);
        }
    }

    @Test
    void aParkedFibrilHoldsNoCarrier() throws Exception {
        // more receivers than carriers, all parked on channels nobody writes to
        List<Fibril> waiting = new ArrayList<>();
        for (int i = 0; i < 6; i++) waiting.add(node.spawn("var chan = require('chan'); var p = chan.open(); p[1].recv()"));
        Thread.sleep(200);
        assertThat(waiting).allMatch(f -> f.state() == Fibril.State.PARKED);
        Fibril f = node.run("var s = 0; for (var i = 0; i < 1000; i++) s += i; s", Duration.ofSeconds(5));
        assertThat(f.result().asLong()).isEqualTo(499500);
        for (Fibril w : waiting) node.nucleus.kill(w.id());
        for (Fibril w : waiting) assertThat(TestNode.await(w, Duration.ofSeconds(5)).state()).isEqualTo(Fibril.State.KILLED);
    }

    @Test
    void aBusyFibrilDoesNotStarveAnother() {
        // four busy fibrils on two carriers; each hands over its carrier every time slice
        String busy = "var sys = require('sys'); var end = Date.now() + 3000; var n = 0; while (Date.now() < end) { sys.self(); n++; } n";
        List<Fibril> hogs = new ArrayList<>();
        for (int i = 0; i < 4; i++) hogs.add(node.spawn(busy));
        long t0 = System.nanoTime();
        Fibril quick = node.run("var sys = require('sys'); sys.self().id", Duration.ofSeconds(10));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(quick.state()).isEqualTo(Fibril.State.DONE);
        assertThat(ms).as("the short fibril waited %d ms behind busy ones", ms).isLessThan(1500);
        assertThat(hogs).anyMatch(h -> !h.state().ended());
        for (Fibril h : hogs) assertThat(TestNode.await(h, Duration.ofSeconds(20)).state()).isEqualTo(Fibril.State.DONE);
    }

    @Test
    void yieldLetsOthersRun() {
        Fibril f = node.run("var sys = require('sys'); var s = 0; for (var i = 0; i < 100; i++) { sys.yield(); s += i; } s");
        assertThat(f.result().asLong()).isEqualTo(4950);
    }

    @Test
    void aFailedWaitIsACatchableErrorAtTheCallSite() {
        Fibril f = node.run("var http = require('http');\n"
                + "var r; try { http.req('http://127.0.0.1:1/nothing'); r = 'no error'; } catch (e) { r = 'caught: ' + e.message; }\n"
                + "r");
        assertThat(f.state()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().asString()).startsWith("caught: http.req http://127.0.0.1:1/nothing");
    }

    @Test
    void waitingInsideABuiltinCallbackIsAClearError() {
        Fibril f = node.run("var sys = require('sys'); [1, 2].forEach(function (x) { sys.sleep(1); }); 'unreachable'");
        assertThat(f.state()).isEqualTo(Fibril.State.FAILED);
        assertThat(f.error()).contains("sys.sleep must wait").contains("plain for loop");
    }

    @Test
    void channelsCarryValuesAndEndpointsInOrder() {
        Fibril f = node.run("var chan = require('chan');\n"
                + "var a = chan.open('Any'), b = chan.open();\n"
                + "a[0].send({ep: b[0]});\n"
                + "var got = a[1].recv();\n"
                + "got.ep.send(1); got.ep.send(2.5); got.ep.send('three');\n"
                + "[b[1].recv(), b[1].recv(), b[1].recv(), got.ep.end, typeof got.ep.send, got.ep.$ch === b[0].$ch]");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().toString()).isEqualTo("[1,2.5,\"three\",\"send\",\"function\",true]");
    }

    @Test
    void endpointsCarryTheirCapabilitiesAndAnEndpointWithoutItIsRefused() {
        Fibril f = node.run("var chan = require('chan'), sys = require('sys');\n"
                + "var a = chan.open('Any'), b = chan.open('Any', {mode: 'async', capacity: 10});\n"
                + "a[0].send({ep: b[0]});\n"
                + "var got = a[1].recv();\n"
                + "got.ep.send('via a travelled endpoint');\n"
                + "var forged = JSON.parse(JSON.stringify(b[1])); delete forged.cap;\n"
                + "a[0].send({ep: {'$ch': forged.$ch, end: 'recv'}});\n"
                + "var bare = a[1].recv().ep, refused;\n"
                + "try { bare.recv(); } catch (e) { refused = e.message; }\n"
                + "function child(r) { return r.recv(); }\n"
                + "var kid = sys.spawn(child, [b[1]]);\n"
                + "[typeof b[0].cap, b[0].cap !== b[1].cap, got.ep.cap === b[0].cap, Object.keys(b[1]).join(','), refused, kid[1].recv().ok]");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        JsonNode r = f.result();
        assertThat(r.get(0).asString()).isEqualTo("string");
        assertThat(r.get(1).asBoolean()).isTrue();
        assertThat(r.get(2).asBoolean()).isTrue();
        assertThat(r.get(3).asString()).isEqualTo("$ch,end,cap");
        assertThat(r.get(4).asString()).contains("recv").contains("capability");
        // the child got the receive endpoint, cap and all, through its spawn arguments
        assertThat(r.get(5).asString()).isEqualTo("via a travelled endpoint");
    }

    @Test
    void theFamilyChannelsOfASpawnNeedTheirCapabilities() {
        Fibril f = node.run("var sys = require('sys');\n"
                + "function child() { var sys = require('sys'); return [typeof sys.parent.recv.cap, typeof sys.parent.send.cap, sys.parent.recv.recv()]; }\n"
                + "var pair = sys.spawn(child, []);\n"
                + "pair[0].send('hello');\n"
                + "[pair[1].recv(), typeof pair[0].cap, typeof pair[1].cap]");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().toString()).isEqualTo("[{\"ok\":[\"string\",\"string\",\"hello\"]},\"string\",\"string\"]");
    }

    @Test
    void aFibrilThatMostlyWaitsIsNotQueuedBehindFibrilsThatCompute() {
        // one carrier; four fibrils whose every slice is a long native call (10 each), and one that
        // only yields (20 times). In FIFO order it would wait behind all four at every yield and
        // end after them; woken ahead of them, it ends first.
        try (TestNode one = new TestNode(s -> s.setCarriers(1))) {
            String heavy = "var jam = require('jam'), big = new Array(400001).join('lorem Ipsum ');"
                    + " for (var i = 0; i < 10; i++) jam.count(big); 'heavy'";
            List<Fibril> heavies = new ArrayList<>();
            for (int i = 0; i < 4; i++) heavies.add(one.spawn(heavy));
            Fibril brisk = one.run("var sys = require('sys'); for (var i = 0; i < 20; i++) sys.yield(); 'brisk'", Duration.ofSeconds(120));
            assertThat(brisk.result().asString()).isEqualTo("brisk");
            assertThat(heavies).allMatch(h -> !h.state().ended());
            for (Fibril h : heavies) assertThat(TestNode.await(h, Duration.ofSeconds(120)).result().asString()).isEqualTo("heavy");
        }
    }

    @Test
    void aChildReportsToItsParentAndTalksOverItsChannels() {
        Fibril f = node.run("var sys = require('sys');\n"
                + "function child(n) { var sys = require('sys'); var m = sys.parent.recv.recv(); return n * m.times; }\n"
                + "var pair = sys.spawn(child, [21]);\n"
                + "pair[0].send({times: 2});\n"
                + "pair[1].recv()");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().toString()).isEqualTo("{\"ok\":42}");
    }

    @Test
    void aFailingChildReportsErr() {
        Fibril f = node.run("var sys = require('sys');\n"
                + "function child() {\n  null.x;\n}\n"
                + "sys.spawn(child, [])[1].recv().err");
        // lines count from the first line of the function's own text, which is what the child runs
        assertThat(f.result().asString()).contains("TypeError").contains("line 2").contains("(child)");
    }

    @Test
    void aSpawnThatFailsAfterSysSpawnAnsweredIsReportedOnTheChildsChannel() {
        // sys.spawn answers with the endpoints and places the child in the background: a refusal
        // by the scheduler arrives where the parent waits for the child's report
        var placing = node.mantle.spawner;
        node.mantle.spawner = req -> { throw new dev.andromeda.common.problem.M31Problem(409, "conflict", "no node fits", "node"); };
        Fibril f;
        try {
            f = node.run("var sys = require('sys');\n"
                + "var pairs = [];\n"
                + "for (var i = 0; i < 3; i++) pairs.push(sys.spawn(function (n) { return n; }, [i]));\n"
                + "var errs = [];\n"
                + "for (var j = 0; j < 3; j++) errs.push(pairs[j][1].recv().err);\n"
                + "errs");
        } finally {
            node.mantle.spawner = placing;
        }
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result()).hasSize(3);
        for (var e : f.result()) assertThat(e.asString()).startsWith("sys.spawn: ").contains("no node fits");
    }

    /**
     * A spawned function runs in a scope of its own (it is shipped as source): a module its parent
     * had in scope is not there, and the failure says so — what a REPL user meets first.
     */
    @Test
    void aSpawnedFunctionThatUsesItsParentsModuleIsToldWhy() {
        Fibril f = node.run("""
                var sys = require('sys'), fs = require('fs');
                var bad = sys.spawn(function () { return sys.self().node; }, []);
                var good = sys.spawn(function () { return require('sys').self().node; }, []);
                var other = sys.spawn(function () { return nothingHere; }, []);
                [bad[1].recv().err, good[1].recv().ok, other[1].recv().err]
                """);
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().get(0).asString()).contains("\"sys\" is not defined")
                .contains("a spawned function brings nothing from its parent's scope: require('sys') inside it");
        assertThat(f.result().get(1).asString()).isEqualTo("T0");
        assertThat(f.result().get(2).asString()).contains("\"nothingHere\" is not defined").doesNotContain("require(");
    }

    @Test
    void theEnvironmentIsInheritedReadOnly() {
        Fibril f = node.nucleus.spawn(new dev.andromeda.fibril.nucleus.SpawnSpec(dev.andromeda.fibril.nucleus.Program.Kind.SCRIPT,
                "var sys = require('sys'); var r = [];\n"
                        + "try { sys.env.region = 'x'; } catch (e) { r.push('top read-only'); }\n"
                        + "try { sys.env.deep.k = 2; } catch (e) { r.push('deep read-only'); }\n"
                        + "function child() { var s = require('sys'); return s.env.region + s.env.deep.k; }\n"
                        + "r.push(sys.spawn(child, [])[1].recv().ok); r",
                null, TestNode.F.arrayNode(), TestNode.F.objectNode().put("region", "eu").set("deep", TestNode.F.objectNode().put("k", 1)),
                null, null, null));
        Fibril done = TestNode.await(f, Duration.ofSeconds(10));
        assertThat(done.result().toString()).isEqualTo("[\"top read-only\",\"deep read-only\",\"eu1\"]");
    }

    @Test
    void killingAParkedFibril() {
        Fibril f = node.spawn("require('sys').sleep(60000); 'woke'");
        waitFor(() -> f.state() == Fibril.State.PARKED);
        node.nucleus.kill(f.id());
        Fibril done = TestNode.await(f, Duration.ofSeconds(5));
        assertThat(done.state()).isEqualTo(Fibril.State.KILLED);
        assertThat(done.error()).isEqualTo("killed");
    }

    @Test
    void killingARunningFibril() {
        Fibril f = node.spawn("var i = 0; while (true) { i++; }");
        waitFor(() -> f.state() == Fibril.State.RUNNING);
        node.nucleus.kill(f.id());
        assertThat(TestNode.await(f, Duration.ofSeconds(5)).state()).isEqualTo(Fibril.State.KILLED);
    }

    @Test
    void jamCountsAndSplitsNatively() {
        Fibril f = node.run("var jam = require('jam'); var c = jam.count(\"It's the THE the 42nd\"); [jam.words('a1b'), c.the, c.it, c.s, c.nd]");
        assertThat(f.result().toString()).isEqualTo("[[\"a\",\"b\"],3,1,1,1]");
    }

    static void waitFor(java.util.function.BooleanSupplier cond) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not met in 5 s");
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }
}
