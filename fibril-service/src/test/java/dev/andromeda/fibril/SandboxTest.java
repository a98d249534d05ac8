package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.andromeda.fibril.nucleus.Fibril;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** No Java is reachable, and a fibril that breaks a limit fails alone. */
class SandboxTest {

    static TestNode node;

    @BeforeAll
    static void start() {
        node = new TestNode(s -> {
            s.setMaxInstructions(5_000_000);
            s.setMaxStackDepth(200);
            s.setWallClock(Duration.ofMillis(1500));
            s.setMaxWallClock(Duration.ofSeconds(10));
            s.setMaxResultBytes(10_000);
        });
    }

    @AfterAll
    static void stop() { node.close(); }

    @ParameterizedTest
    @ValueSource(strings = {
            "java.lang.System.exit(1)",
            "Packages.java.lang.Runtime.getRuntime()",
            "getClass(Int)",
            "importClass(java.io.File)",
            "importPackage(java.io)",
            "new JavaAdapter(Object, {})",
            "JavaImporter",
            "Int.getClass()",
            "require('sys').getClass()",
            "load('/etc/passwd')",
    })
    void javaIsNotReachable(String script) {
        Fibril f = node.run(script);
        assertThat(f.state()).isEqualTo(Fibril.State.FAILED);
        assertThat(f.error()).containsAnyOf("ReferenceError", "TypeError");
    }

    @Test
    void noHostObjectLeaksAJavaClass() {
        Fibril f = node.run("var r = [];\n"
                + "r.push(typeof Int.constructor);\n"
                + "var g = Function('return this')(); r.push(typeof g.java, typeof g.Packages);\n"
                + "r");
        assertThat(f.result().toString()).isEqualTo("[\"function\",\"undefined\",\"undefined\"]");
    }

    @Test
    void builtinsAreSharedButSealed() {
        Fibril f = node.run("try { Array.prototype.evil = 1; 'changed' } catch (e) { 'refused' }");
        assertThat(f.result().asString()).isEqualTo("refused");
        Fibril g = node.run("try { Int.incr = 2; 'changed' } catch (e) { String(Int.incr) }");
        assertThat(g.result().asString()).isEqualTo("Int.incr(1)");
    }

    @Test
    void anInfiniteLoopIsStoppedByTheBudgetAndTheNodeGoesOn() {
        Fibril f = node.run("var i = 0; try { while (true) { i++; } } catch (e) { 'caught' } finally { 'finally' }");
        assertThat(f.state()).isEqualTo(Fibril.State.FAILED);
        assertThat(f.error()).contains("instruction budget exceeded");
        assertThat(node.run("'next'").result().asString()).isEqualTo("next");
    }

    @Test
    void deepRecursionIsStopped() {
        Fibril f = node.run("function down(n) { return down(n + 1) + 1; }\ndown(0)");
        assertThat(f.state()).isEqualTo(Fibril.State.FAILED);
        assertThat(f.error()).contains("stack depth exceeded").contains("line 1");
        assertThat(node.run("'next'").result().asString()).isEqualTo("next");
    }

    /**
     * Sleeping past the wall clock fails, whenever the sleep began: twenty at once, some within
     * the millisecond of their spawn (with the sleep capped at the limit itself, such a one was
     * due before the wall clock's timer, and ended DONE now and then in CI).
     */
    @Test
    void aParkedFibrilPastItsWallClockFails() {
        java.util.List<Fibril> all = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) all.add(node.spawn("require('sys').sleep(60000)"));
        for (Fibril f : all) {
            assertThat(TestNode.await(f, Duration.ofSeconds(10)).state()).isEqualTo(Fibril.State.FAILED);
            assertThat(f.error()).contains("wall-clock limit exceeded");
        }
    }

    /**
     * A spawn may ask for a wall clock of its own, up to the node's most (a REPL session or a
     * fibril that serves requests lives for hours; before, every fibril ended at the node's one
     * limit): from outside, and from sys.spawn for a child. Past the most it is a 400 naming it.
     */
    @Test
    void aSpawnMayAskForItsOwnWallClockUpToTheNodesMost() {
        String sleeper = "require('sys').sleep(2500); 'lived'";
        Fibril longer = node.nucleus.spawn(spec(sleeper).withWallClock(Duration.ofSeconds(4)), false);
        Fibril usual = node.spawn(sleeper);
        assertThat(TestNode.await(longer, Duration.ofSeconds(10)).state()).as(longer.error()).isEqualTo(Fibril.State.DONE);
        assertThat(longer.result().asString()).isEqualTo("lived");
        assertThat(longer.wallClockLimit()).isEqualTo(Duration.ofSeconds(4));
        assertThat(TestNode.await(usual, Duration.ofSeconds(10)).state()).isEqualTo(Fibril.State.FAILED);
        assertThat(usual.error()).contains("wall-clock limit exceeded (PT1.5S)");

        Fibril parent = node.nucleus.spawn(spec("""
                var sys = require('sys');
                var child = function () { require('sys').sleep(2500); return 'child lived'; };
                var kept = sys.spawn(child, [], {wallClock: 4}), usual = sys.spawn(child, []);
                var r = [kept[1].recv(), usual[1].recv()], bad = [];
                try { sys.spawn(child, [], {wallClock: 0.5}); } catch (e) { bad.push(e.message); }
                try { sys.spawn(child, [], {wallClock: 'long'}); } catch (e) { bad.push(e.message); }
                [r[0].ok, r[1].err, bad]
                """).withWallClock(Duration.ofSeconds(8)), false);
        assertThat(TestNode.await(parent, Duration.ofSeconds(15)).state()).as(parent.error()).isEqualTo(Fibril.State.DONE);
        assertThat(parent.result().get(0).asString()).isEqualTo("child lived");
        assertThat(parent.result().get(1).asString()).contains("wall-clock limit exceeded");
        assertThat(parent.result().get(2).get(0).asString()).contains("wallClock is a whole number of seconds");
        assertThat(parent.result().get(2).get(1).asString()).contains("wallClock is a number of seconds");

        assertThatThrownBy(() -> node.nucleus.spawn(spec("1").withWallClock(Duration.ofSeconds(11)), false))
                .isInstanceOfSatisfying(dev.andromeda.common.problem.M31Problem.class, p -> {
                    assertThat(p.status()).isEqualTo(400);
                    assertThat(p.field()).isEqualTo("wallClock");
                    assertThat(p.getMessage()).contains("1 s to 10 s");
                });
    }

    private static dev.andromeda.fibril.nucleus.SpawnSpec spec(String script) {
        return new dev.andromeda.fibril.nucleus.SpawnSpec(dev.andromeda.fibril.nucleus.Program.Kind.SCRIPT, script, null,
                TestNode.F.arrayNode(), TestNode.F.objectNode(), null, null, null);
    }

    @Test
    void aTooLargeResultFails() {
        Fibril f = node.run("var s = 'x'; while (s.length < 20000) s += s; s");
        assertThat(f.state()).isEqualTo(Fibril.State.FAILED);
        assertThat(f.error()).contains("result too large");
    }

    @Test
    void aCyclicResultFailsClearly() {
        Fibril f = node.run("var o = {}; o.self = o; o");
        assertThat(f.state()).isEqualTo(Fibril.State.FAILED);
        assertThat(f.error()).contains("cyclic");
    }
}
