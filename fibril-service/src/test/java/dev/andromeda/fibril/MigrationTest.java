package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.andromeda.common.problem.M31Problem;
import dev.andromeda.fibril.effects.EffectCombiner;
import dev.andromeda.fibril.migration.FibrilStreams;
import dev.andromeda.fibril.migration.PacketKey;
import dev.andromeda.fibril.nucleus.Fibril;
import dev.andromeda.fibril.nucleus.FibrilSettings;
import dev.andromeda.fibril.nucleus.Nucleus;
import dev.andromeda.fibril.nucleus.Program;
import dev.andromeda.fibril.nucleus.SpawnSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** Moving and cloning fibrils between two nuclei that share one (fake) constellation. */
class MigrationTest {

    static final JsonNodeFactory F = JsonNodeFactory.instance;
    static final PacketKey KEY = PacketKey.resolve("a-test-packet-key-0123456789", null);

    FakeMantle mantle;
    Nucleus a;
    Nucleus b;
    final List<AutoCloseable> closing = new ArrayList<>();
    final List<JsonNode> packets = new ArrayList<>();

    @BeforeEach
    void start() {
        mantle = new FakeMantle();
        a = node("A", KEY);
        b = node("B", KEY);
        mantle.spawner = req -> {
            Fibril f = a.spawn(new SpawnSpec(Program.Kind.FUNCTION, null, req.get("fingerprint").asString(),
                    (ArrayNode) req.get("args"), (ObjectNode) req.get("env"), req.get("parent").asString(),
                    req.get("toChild").asString(), req.get("fromChild").asString(),
                    req.path("toChildCap").asString(null), req.path("fromChildCap").asString(null)));
            return F.objectNode().put("id", f.id());
        };
    }

    Nucleus node(String name, PacketKey key) {
        FibrilSettings s = new FibrilSettings();
        s.setCarriers(2);
        EffectCombiner c = new EffectCombiner(mantle, name, s.getFlushInterval(), s.getFlushMaxEntries());
        Nucleus n = new Nucleus(name, s, mantle.as(name), c, key);
        closing.add(c);
        closing.add(n);
        mantle.killers.put(name, id -> {
            n.kill(id);
            return F.objectNode();
        });
        mantle.nodes.put(name, packet -> {
            synchronized (packets) { packets.add(packet); }
            Fibril f = n.receive(packet.get("header").asString(), packet.get("state").asString(), packet.get("sig").asString());
            return F.objectNode().put("id", f.id()).put("node", name).put("generation", f.generation());
        });
        return n;
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) c.close();
    }

    Fibril spawn(Nucleus n, String script, JsonNode... args) {
        ArrayNode arr = F.arrayNode();
        for (JsonNode j : args) arr.add(j);
        return n.spawn(new SpawnSpec(Program.Kind.SCRIPT, script, null, arr, F.objectNode(), null, null, null));
    }

    static Fibril await(Fibril f) {
        try {
            return f.end().get(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(f + " did not end (state " + f.state() + ")", e);
        }
    }

    static JsonNode await(CompletableFuture<JsonNode> f) throws Exception {
        return f.get(20, TimeUnit.SECONDS);
    }

    /** Generation {@code g} of fibril {@code id} on node {@code n}, once it is there (a fibril that moves to and fro is on a node more than once). */
    static Fibril generation(Nucleus n, String id, long g) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            var f = n.find(id).filter(x -> x.generation() == g);
            if (f.isPresent()) return f.get();
            Thread.sleep(5);
        }
        throw new AssertionError("no generation " + g + " of " + id + " on " + n.node());
    }

    Fibril on(Nucleus n, String id) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            var f = n.find(id);
            if (f.isPresent()) return f.get();
            Thread.onSpinWait();
        }
        throw new AssertionError("no fibril " + id + " on " + n.node());
    }

    static final String COUNTER = """
            var sys = require('sys');
            var state = {items: [], word: /([a-z]+)(\\d)/g, total: 0};
            function add(i) { state.items.push({i: i, sq: i * i}); state.total += i; }
            for (var i = 0; i < 40; i++) { add(i); sys.sleep(20); }
            var m, found = [];
            while ((m = state.word.exec('ab1 cd2 ef3'))) found.push(m[1] + m[2]);
            [state.total, state.items.length, state.items[39].sq, sys.self().node, found.join(',')]
            """;

    @Test
    void sendsThatWentOnBeforeTheyWereDurableAreDurableBeforeTheirFibrilMovesSoTheOrderHolds() throws Exception {
        String ch = mantle.openChannel(F.objectNode()).get().id();
        // every POST takes 200 ms: when the fibril asks to move, its sends are still in A's lane
        mantle.sendDelayMs = 200;
        Fibril f = spawn(a, """
                var sys = require('sys'), out = sys.args[0], t0 = sys.clock();
                for (var i = 1; i <= 10; i++) out.send(i);
                var queued = sys.clock() - t0;
                sys.migrate('B');
                for (var i = 11; i <= 20; i++) out.send(i);
                [queued, sys.self().node]
                """, F.objectNode().put("$ch", "/ch/" + ch).put("end", "send"));
        Fibril there = await(on(b, f.id()));
        assertThat(there.state()).as(there.error()).isEqualTo(Fibril.State.DONE);
        assertThat(there.result().get(0).asDouble()).as("the ten sends did not wait for the service").isLessThan(150);
        assertThat(there.result().get(1).asString()).isEqualTo("B");
        List<Integer> got = new java.util.ArrayList<>();
        for (var r = mantle.receive(ch, null, 0, 100, 0, 0).join(); !r.values().isEmpty(); r = mantle.receive(ch, null, 0, 100, 0, 0).join()) {
            r.values().forEach(v -> got.add(v.asInt()));
        }
        assertThat(got).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20);
    }

    @Test
    void aFibrilParkedInASyncSendNobodyTakesMovesAndItsMessageIsTakenOnceFromTheNewNode() throws Exception {
        mantle.syncWaitMs = 300;
        String ch = mantle.openChannel(F.objectNode().put("mode", "sync")).get().id();
        Fibril f = spawn(a, "var sys = require('sys'); sys.args[0].send('hello'); sys.self().node",
                F.objectNode().put("$ch", "/ch/" + ch).put("end", "send"));
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (f.state() != Fibril.State.PARKED && System.nanoTime() < deadline) Thread.sleep(10);
        // no receiver: the move happens between two of the send's waits at the service
        JsonNode moved = await(a.migrate(f.id(), "B"));
        assertThat(moved.path("node").asString()).isEqualTo("B");
        var got = mantle.receive(ch, null, 5, 10, 0, 0).get(10, TimeUnit.SECONDS);
        assertThat(got.values()).extracting(JsonNode::asString).containsExactly("hello");
        Fibril there = await(on(b, f.id()));
        assertThat(there.state()).as(there.error()).isEqualTo(Fibril.State.DONE);
        assertThat(there.result().asString()).isEqualTo("B");
        // sent again from B under the same key: taken once
        assertThat(mantle.receive(ch, null, 0, 10, 0, 0).join().values()).isEmpty();
        assertThat(mantle.sendKeys.stream().filter(k -> k.startsWith(f.id())).distinct()).hasSize(1);
    }

    @Test
    void aSleepingFibrilMovesWithItsStateAndFinishesOnTheOtherNode() throws Exception {
        Fibril f = spawn(a, COUNTER);
        Thread.sleep(150);
        JsonNode answer = await(a.migrate(f.id(), "B"));
        assertThat(answer.path("node").asString()).isEqualTo("B");
        assertThat(answer.path("generation").asLong()).isEqualTo(2);
        assertThat(a.movedTo(f.id())).isEqualTo("B");
        assertThat(a.find(f.id())).isEmpty();
        assertThat(mantle.bindings.get(f.id())).isEqualTo("B");

        Fibril there = await(on(b, f.id()));
        assertThat(there.state()).as(there.error()).isEqualTo(Fibril.State.DONE);
        assertThat(there.result().toString()).isEqualTo("[780,40,1521,\"B\",\"ab1,cd2,ef3\"]");
        assertThat(there.generation()).isEqualTo(2);
        assertThat(there.created()).isEqualTo(f.created()); // to the nanosecond: a move does not change its birth
    }

    @Test
    void aFibrilMovesItselfInTheMiddleOfARegexLoopAndKeepsItsSequence() throws Exception {
        String ch = mantle.openChannel(F.objectNode()).get().id();
        Fibril f = spawn(a, """
                var sys = require('sys'), out = sys.args[0];
                var re = /(\\w+)/g, s = 'alpha beta gamma delta', m, words = [], n = 0, before = sys.self().node;
                out.send('one');
                while ((m = re.exec(s))) { words.push(m[1]); if (n++ === 1) sys.migrate('B'); }
                out.send('two');
                [before, sys.self().node, words.join(' '), re.lastIndex]
                """, F.objectNode().put("$ch", "/ch/" + ch).put("end", "send"));
        Fibril there = await(on(b, f.id()));
        assertThat(there.state()).as(there.error()).isEqualTo(Fibril.State.DONE);
        assertThat(there.result().toString()).isEqualTo("[\"A\",\"B\",\"alpha beta gamma delta\",0]");
        // the sequence travelled: the send after the move is the fibril's second effect, not a second first
        assertThat(mantle.receive(ch, null, 0, 10, 0, 0).get().values().stream().map(JsonNode::asString).toList()).containsExactly("one", "two");
        assertThat(there.seq()).isEqualTo(2);
    }

    @Test
    void aFibrilMovesInTheMiddleOfAnEvaluatedSnippetAndItsDefinitionsComeAlong() {
        // the REPL's case: code compiled at run time, waiting inside it, moved, and used afterwards
        Fibril f = spawn(a, """
                var sys = require('sys');
                sys.evaluate('var count = 0; function bump(n) { count += n; return count; }');
                var mid = sys.evaluate('bump(1); var from = sys.self().node; sys.migrate("B"); bump(2); [from, sys.self().node]');
                [mid, sys.evaluate('bump(3)'), typeof bump, sys.self().node]
                """);
        Fibril there = await(on(b, f.id()));
        assertThat(there.state()).as(there.error()).isEqualTo(Fibril.State.DONE);
        assertThat(there.result().toString()).isEqualTo("[[\"A\",\"B\"],6,\"function\",\"B\"]");
    }

    @Test
    void aFibrilMovesWhileWaitingInsideHalfBuiltLiteralsAndItsGettersAndComputedKeysComeAlong() throws Exception {
        // Rhino keeps a literal being built in a frame-local store of its own, which must travel too
        Fibril f = spawn(a, """
                var sys = require('sys');
                function hop(to) { sys.migrate(to); return sys.self().node; }
                var o = {first: sys.self().node, get g() { return 1; }, set s(v) { this.v = v * 2; }, moved: hop('B'), ['k' + 1]: 2};
                var arr = [o.moved, hop('A'), ...[7, 8], hop('B')];
                o.s = 4; // getters and setters came along too (Rhino writes them without their functions)
                [o.first, o.moved, o.g, o.k1, arr, o.v, typeof Object.getOwnPropertyDescriptor(o, 'g').get]
                """);
        // three moves: A → B → A → B; the one that ends is the fourth generation, on B
        Fibril there = await(generation(b, f.id(), 4));
        assertThat(there.state()).as(there.error()).isEqualTo(Fibril.State.DONE);
        assertThat(there.result().toString()).isEqualTo("[\"A\",\"B\",1,2,[\"B\",\"A\",7,8,\"B\"],8,\"function\"]");
    }

    @Test
    void aFibrilThatComesStraightBackBeforeItsFirstNodeHeardTheHandOverIsTakenIn() throws Exception {
        // B's answer to A's hand-over is held back: the fibril runs on B and moves back to A while
        // A's copy still waits for that answer. A must take the newer generation in (it refused:
        // "already runs on node A"), and A's stale copy must not then mark the fibril as moved away
        var toB = mantle.nodes.get("B");
        mantle.nodes.put("B", packet -> {
            JsonNode answer = toB.apply(packet);
            try {
                Thread.sleep(400);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return answer;
        });
        Fibril f = spawn(a, """
                var sys = require('sys'), seen = [sys.self().node];
                sys.migrate('B'); seen.push(sys.self().node);
                sys.migrate('A'); seen.push(sys.self().node);
                sys.sleep(600);
                seen
                """);
        Fibril back = await(generation(a, f.id(), 3));
        assertThat(back.state()).as(back.error()).isEqualTo(Fibril.State.DONE);
        assertThat(back.result().toString()).isEqualTo("[\"A\",\"B\",\"A\"]");
        // A's books say it lives here, not that it moved to B
        assertThat(a.movedTo(f.id())).isNull();
    }

    @Test
    void aFibrilHoldingCaughtErrorsMoves() throws Exception {
        // an error object keeps the Java exception that made it (for its stack); a host call's
        // failure and a runtime TypeError both held on to one, and the packet was refused
        Fibril f = spawn(a, """
                var sys = require('sys'), kept = [];
                try { null.x; } catch (e) { kept.push(e); }
                try { sys.sleep(); require('nope'); } catch (e) { kept.push(e); }
                try { throw new RangeError('mine'); } catch (e) { kept.push(e); }
                sys.migrate('B');
                kept.map(function (e) { return e.name + ': ' + e.message + ' / ' + (e instanceof Error); }).concat(sys.self().node)
                """);
        Fibril there = await(generation(b, f.id(), 2));
        assertThat(there.state()).as(there.error()).isEqualTo(Fibril.State.DONE);
        assertThat(there.result().get(0).asString()).startsWith("TypeError: ").endsWith(" / true");
        assertThat(there.result().get(1).asString()).startsWith("Error: ").contains("nope").endsWith(" / true");
        assertThat(there.result().get(2).asString()).isEqualTo("RangeError: mine / true");
        assertThat(there.result().get(3).asString()).isEqualTo("B");
    }

    @Test
    void aChildThatMovesKeepsItsFamilyCapabilitiesAndReportsFromTheOtherNode() throws Exception {
        Fibril f = spawn(a, """
                var sys = require('sys');
                function child() {
                  var sys = require('sys');
                  sys.migrate('B');
                  var m = sys.parent.recv.recv();
                  sys.parent.send.send('heard ' + m + ' on ' + sys.self().node);
                  return sys.self().node;
                }
                var p = sys.spawn(child, []);
                p[0].send('ping');
                [p[1].recv(), p[1].recv().ok]
                """);
        Fibril done = await(f);
        assertThat(done.state()).as(done.error()).isEqualTo(Fibril.State.DONE);
        // the caps of the child's ends travelled in the signed header: it could receive, send and report
        assertThat(done.result().toString()).isEqualTo("[\"heard ping on B\",\"B\"]");
    }

    @Test
    void aFibrilWaitingInRecvMovesWithoutLosingOrDuplicatingAMessage() throws Exception {
        String ch = mantle.openChannel(F.objectNode()).get().id();
        Fibril f = spawn(a, """
                var r = require('sys').args[0], got = [];
                for (var i = 0; i < 3; i++) got.push(r.recv());
                [got, require('sys').self().node]
                """, F.objectNode().put("$ch", "/ch/" + ch).put("end", "recv"));
        mantle.send(ch, null, F.numberNode(1), "k1", 0).get();
        while (f.state() != Fibril.State.PARKED) Thread.onSpinWait();
        Thread.sleep(50);
        CompletableFuture<JsonNode> moving = a.migrate(f.id(), "B");
        // the poll in flight is not cut: the message it takes travels with the fibril
        mantle.send(ch, null, F.numberNode(2), "k2", 0).get();
        assertThat(await(moving).path("node").asString()).isEqualTo("B");
        mantle.send(ch, null, F.numberNode(3), "k3", 0).get();
        Fibril there = await(on(b, f.id()));
        assertThat(there.state()).as(there.error()).isEqualTo(Fibril.State.DONE);
        assertThat(there.result().toString()).isEqualTo("[[1,2,3],\"B\"]");
        assertThat(mantle.receive(ch, null, 0, 10, 0, 0).get().values()).isEmpty();
    }

    @Test
    void aMovedFibrilStillActsForItsSpawnerAndKeepsItsWallClock() throws Exception {
        var alice = dev.andromeda.common.security.Caller.of("alice", List.of("admin"));
        Fibril f = a.spawn(new SpawnSpec(Program.Kind.SCRIPT, "var sys = require('sys'), fs = require('fs');"
                + " sys.sleep(300); fs.mkdir('after', {key: 'k'}); sys.self().node", null, F.arrayNode(), F.objectNode(),
                null, null, null).withWallClock(java.time.Duration.ofMinutes(90)), false, alice);
        Thread.sleep(100);
        await(a.migrate(f.id(), "B"));
        Fibril there = await(on(b, f.id()));
        assertThat(there.state()).as(there.error()).isEqualTo(Fibril.State.DONE);
        assertThat(there.result().asString()).isEqualTo("B");
        assertThat(there.caller()).isEqualTo(alice);
        // and the wall clock its spawn asked for, not the new node's default
        assertThat(there.wallClockLimit()).isEqualTo(java.time.Duration.ofMinutes(90));
        assertThat(mantle.callsAs).contains(new FakeMantle.Call("alice", "makeSpace", "after"));
    }

    @Test
    void aFibrilMovesWithItsUserModuleAndItsModuleState() throws Exception {
        String fp = mantle.putCode("var n = 0; exports.next = function () { return ++n; };").join();
        Fibril f = spawn(a, "var sys = require('sys'), m = require('/code/" + fp + "'); m.next(); m.next();"
                + " sys.sleep(300); [m.next(), sys.self().node, require('/code/" + fp + "') === m]");
        Thread.sleep(100);
        await(a.migrate(f.id(), "B"));
        Fibril there = await(on(b, f.id()));
        assertThat(there.state()).as(there.error()).isEqualTo(Fibril.State.DONE);
        assertThat(there.result().toString()).isEqualTo("[3,\"B\",true]");
    }

    static final String SLEEPER = "var sys = require('sys'); for (var i = 0; i < 50; i++) sys.sleep(20); sys.self().node";

    @Test
    void aKillArrivingWhileThePacketIsOnItsWayFollowsTheFibril() throws Exception {
        Fibril f = spawn(a, SLEEPER);
        Thread.sleep(60);
        var deliver = mantle.nodes.get("B");
        mantle.nodes.put("B", packet -> {
            a.kill(f.id()); // the kill lands on A after the packet left, before B has it
            return deliver.apply(packet);
        });
        JsonNode moved = await(a.migrate(f.id(), "B"));
        assertThat(moved.path("node").asString()).isEqualTo("B");
        Fibril there = await(on(b, f.id()));
        assertThat(there.state()).isEqualTo(Fibril.State.KILLED);
        assertThat(there.error()).isEqualTo("killed");
    }

    @Test
    void aKillArrivingWhileTheFibrilIsPackedAbortsTheMoveAndEndsIt() throws Exception {
        Fibril f = spawn(a, SLEEPER);
        Thread.sleep(60);
        // the "moving" checkpoint is the last step before the hand-over: kill it right then
        mantle.onPut = key -> { if (key.equals(f.id()) && f.state() == Fibril.State.MOVING) a.kill(f.id()); };
        assertThatThrownBy(() -> await(a.migrate(f.id(), "B")))
                .hasCauseInstanceOf(M31Problem.class).hasMessageContaining("killed before it could move");
        assertThat(await(f).state()).isEqualTo(Fibril.State.KILLED);
        assertThat(b.find(f.id())).isEmpty();
        assertThat(mantle.bindings.get(f.id())).isNotEqualTo("B");
    }

    @Test
    void aCloneReportsToTheParentOnTheOriginalsChannel() throws Exception {
        Fibril parent = spawn(a, "var sys = require('sys');\n"
                + "var p = sys.spawn(function () { var sys = require('sys'); var c = sys.clone('B');"
                + " return c === null ? 'clone on ' + sys.self().node : 'original'; }, []);\n"
                + "var first = p[1].recv(), second = p[1].recv();\n"
                + "[first.ok, second.ok, first.clone || second.clone || null, (first.cloneOf || second.cloneOf) !== undefined]");
        Fibril done = await(parent);
        assertThat(done.state()).as(done.error()).isEqualTo(Fibril.State.DONE);
        assertThat(List.of(done.result().get(0).asString(), done.result().get(1).asString()))
                .containsExactlyInAnyOrder("original", "clone on B");
        String cloneId = done.result().get(2).asString();
        Fibril clone = b.find(cloneId).orElseThrow();
        // a sibling of the original: one more child of the same parent
        assertThat(clone.parent()).isEqualTo(parent.id());
        assertThat(done.result().get(3).asBoolean()).isTrue();
    }

    @Test
    void anAnchoredFibrilDoesNotMoveAndAnUnknownNodeIsNotFound() throws Exception {
        Fibril f = spawn(a, "var sys = require('sys'); sys.anchor(); sys.sleep(300); sys.self().node");
        Thread.sleep(100);
        assertThatThrownBy(() -> a.migrate(f.id(), "B")).isInstanceOfSatisfying(M31Problem.class, p -> assertThat(p.status()).isEqualTo(409));
        assertThatThrownBy(() -> a.migrate(f.id(), "E9")).isInstanceOfSatisfying(M31Problem.class, p -> assertThat(p.status()).isIn(404, 409));
        assertThat(await(f).result().asString()).isEqualTo("A");

        Fibril g = spawn(a, "require('sys').sleep(300); 1");
        assertThatThrownBy(() -> a.migrate(g.id(), "E9")).isInstanceOfSatisfying(M31Problem.class, p -> assertThat(p.status()).isEqualTo(404));
        assertThat(await(g).state()).isEqualTo(Fibril.State.DONE);
    }

    @Test
    void sysMigrateToAnUnknownNodeIsACatchableError() {
        Fibril f = spawn(a, "var sys = require('sys'); try { sys.migrate('E9'); 'moved' } catch (e) { String(e.message) }");
        assertThat(await(f).result().asString()).contains("no node E9");
    }

    @Test
    void aCloneRunsOnFromTheSamePointAndBothFinish() throws Exception {
        Fibril f = spawn(a, COUNTER);
        Thread.sleep(150);
        JsonNode clone = await(a.cloneTo(f.id(), "B"));
        String cloneId = clone.path("id").asString();
        assertThat(cloneId).isNotEqualTo(f.id());
        Fibril original = await(f);
        Fibril copy = await(on(b, cloneId));
        assertThat(original.result().toString()).isEqualTo("[780,40,1521,\"A\",\"ab1,cd2,ef3\"]");
        assertThat(copy.result().toString()).isEqualTo("[780,40,1521,\"B\",\"ab1,cd2,ef3\"]");
        assertThat(copy.cloneOf()).isEqualTo(f.id());
    }

    @Test
    void sysCloneTellsTheOriginalTheCloneIdAndTheCloneNull() throws Exception {
        Fibril f = spawn(a, "var sys = require('sys'), x = {n: 41}; var c = sys.clone('B'); x.n++; [c === null ? 'clone' : 'original', x.n, sys.self().node, c]");
        Fibril original = await(f);
        String cloneId = original.result().get(3).asString();
        Fibril copy = await(on(b, cloneId));
        assertThat(original.result().toString()).startsWith("[\"original\",42,\"A\",");
        assertThat(copy.result().toString()).isEqualTo("[\"clone\",42,\"B\",null]");
    }

    @Test
    void forgedAndTamperedPacketsAreRefused() throws Exception {
        Fibril f = spawn(a, COUNTER);
        Thread.sleep(100);
        await(a.migrate(f.id(), "B"));
        JsonNode p = packets.get(0);
        String header = p.get("header").asString();
        byte[] state = Base64.getDecoder().decode(p.get("state").asString());
        String sig = p.get("sig").asString();

        // a replay of the very packet is the same arrival, not a second fibril
        assertThat(b.receive(header, p.get("state").asString(), sig).id()).isEqualTo(f.id());

        state[state.length / 2] ^= 1;
        assertThatThrownBy(() -> b.receive(header, Base64.getEncoder().encodeToString(state), sig))
                .isInstanceOfSatisfying(M31Problem.class, e -> assertThat(e.status()).isEqualTo(403));
        String otherHeader = header.replace("\"to\":\"B\"", "\"to\":\"B\",\"x\":1");
        assertThatThrownBy(() -> b.receive(otherHeader, p.get("state").asString(), sig))
                .isInstanceOfSatisfying(M31Problem.class, e -> assertThat(e.status()).isEqualTo(403));
        PacketKey other = PacketKey.resolve("another-constellation-key-xyz", null);
        byte[] fine = Base64.getDecoder().decode(p.get("state").asString());
        String forged = Base64.getEncoder().encodeToString(other.sign(header.getBytes(java.nio.charset.StandardCharsets.UTF_8), fine));
        assertThatThrownBy(() -> b.receive(header, p.get("state").asString(), forged))
                .isInstanceOfSatisfying(M31Problem.class, e -> assertThat(e.status()).isEqualTo(403));
        assertThat(await(on(b, f.id())).state()).isEqualTo(Fibril.State.DONE);
    }

    @Test
    void spawnsAndMovesAreCheckpointedInTheStore() throws Exception {
        Fibril f = spawn(a, COUNTER);
        JsonNode spawned = mantle.getObject("sys_fibrils", f.id()).get();
        assertThat(spawned.path("attrs").path("state").asString()).isEqualTo("spawned");
        assertThat(spawned.path("attrs").path("packet").path("fingerprint").asString()).isEqualTo(f.program().fingerprint());
        assertThat(mantle.code).containsKey(f.program().fingerprint());
        Thread.sleep(100);
        await(a.migrate(f.id(), "B"));
        JsonNode moving = mantle.getObject("sys_fibrils", f.id()).get();
        assertThat(moving.path("attrs").path("state").asString()).isEqualTo("moving");
        assertThat(moving.path("attrs").path("node").asString()).isEqualTo("B");
        assertThat(moving.path("attrs").path("packet").path("sig").asString()).isNotEmpty();
        await(on(b, f.id()));
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline
                && !"done".equals(mantle.getObject("sys_fibrils", f.id()).get().path("attrs").path("state").asString())) {
            Thread.sleep(10);
        }
        assertThat(mantle.getObject("sys_fibrils", f.id()).get().path("attrs").path("state").asString()).isEqualTo("done");
    }

    @Test
    void theAllowListAdmitsScriptObjectsAndNoJavaBridges() throws Exception {
        assertThat(FibrilStreams.allowed(org.mozilla.javascript.NativeObject.class)).isTrue();
        assertThat(FibrilStreams.allowed(org.mozilla.javascript.NativeArray.class)).isTrue();
        assertThat(FibrilStreams.allowed(Object[].class)).isTrue();
        assertThat(FibrilStreams.allowed(org.mozilla.javascript.NativeJavaObject.class)).isFalse();
        assertThat(FibrilStreams.allowed(org.mozilla.javascript.FunctionObject.class)).isFalse();
        assertThat(FibrilStreams.allowed(Class.forName("org.mozilla.javascript.MemberBox"))).isFalse();
        assertThat(FibrilStreams.allowed(org.mozilla.javascript.JavaAdapter.class)).isFalse();
        assertThat(FibrilStreams.allowed(java.net.URL.class)).isFalse();
        assertThat(FibrilStreams.allowed(javax.management.BadAttributeValueExpException.class)).isFalse();
    }
}
