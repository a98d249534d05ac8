package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.security.Caller;
import dev.andromeda.fibril.nucleus.Fibril;
import dev.andromeda.fibril.nucleus.Program;
import dev.andromeda.fibril.nucleus.SpawnSpec;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A fibril acts with the identity of whoever spawned it: its store calls, the batches its
 * combined increments go out in, its spawns, and its children's calls all carry that user, not
 * the node.
 */
class IdentityTest {

    final TestNode node = new TestNode();

    @AfterEach
    void stop() { node.close(); }

    Fibril spawnAs(Caller who, String script) {
        return node.nucleus.spawn(new SpawnSpec(Program.Kind.SCRIPT, script, null, TestNode.F.arrayNode(),
                TestNode.F.objectNode(), null, null, null), false, who);
    }

    static final String SCRIPT = """
            var fs = require('fs'), sys = require('sys');
            fs.mkdir('notes', {key: 'k', attrs: {n: Int}});
            fs.invoke({k: 'a', n: Int.incr});
            function child() {
              var fs = require('fs');
              fs.mkdir('kids', {key: 'id'});
              fs.put('kids', 'x', {v: 1});
              return 'ok';
            }
            var st = sys.spawn(child, [])[1].recv();
            fs.get({k: 'a'}).n + ':' + st.ok
            """;

    @Test
    void aFibrilAndItsChildrenCallTheMantleAsTheirSpawner() {
        Fibril f = TestNode.await(spawnAs(Caller.of("alice", List.of()), SCRIPT), Duration.ofSeconds(20));
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().asString()).isEqualTo("1:ok");
        assertThat(f.caller().subject()).isEqualTo("alice");

        var calls = node.mantle.callsAs;
        // the parent's mkdir, its combined increment's batch, its spawn; the child's mkdir and put
        assertThat(calls).contains(new FakeMantle.Call("alice", "makeSpace", "notes"),
                new FakeMantle.Call("alice", "makeSpace", "kids"), new FakeMantle.Call("alice", "putObject", "kids"));
        assertThat(calls).anyMatch(c -> c.who().equals("alice") && c.method().equals("invoke") && c.arg().equals("notes"));
        assertThat(calls).anyMatch(c -> c.who().equals("alice") && c.method().equals("spawn"));
        // the child was spawned for alice too (the scheduler forwards the signed caller)
        Fibril child = node.nucleus.all().stream().filter(x -> f.id().equals(x.parent())).findFirst().orElseThrow();
        assertThat(child.caller().subject()).isEqualTo("alice");
        // and nobody else appears
        assertThat(calls).allMatch(c -> c.who().equals("alice"));
    }

    @Test
    void sumsOfDifferentUsersGoOutInDifferentBatches() {
        Fibril a = spawnAs(Caller.of("alice", List.of()), "var fs = require('fs'); fs.mkdir('w', {key: 'k'});"
                + " fs.invoke({k: 'x', n: Int.incr(2)}); 'a'");
        Fibril b = spawnAs(Caller.of("bob", List.of()), "var fs = require('fs'); fs.mkdir('w', {key: 'k'});"
                + " fs.invoke({k: 'x', n: Int.incr(5)}); 'b'");
        Fibril n = node.spawn("var fs = require('fs'); fs.mkdir('w', {key: 'k'}); fs.invoke({k: 'x', n: Int.incr(7)}); 'n'");
        for (Fibril f : List.of(a, b, n)) assertThat(TestNode.await(f, Duration.ofSeconds(20)).state()).isEqualTo(Fibril.State.DONE);
        assertThat(node.mantle.value("w", "x", "n")).isEqualTo(14L);
        var invokes = node.mantle.callsAs.stream().filter(c -> c.method().equals("invoke")).map(FakeMantle.Call::who).toList();
        assertThat(invokes).contains("alice", "bob");
        // the node's own fibril (no caller) is not flushed as a user
        assertThat(node.mantle.callsAs).noneMatch(c -> c.who().equals("node"));
    }

    @Test
    void aFibrilWithoutASignedSpawnerActsAsTheNode() {
        Fibril f = node.run("var fs = require('fs'); fs.mkdir('plain', {key: 'k'}); 1");
        assertThat(f.caller()).isNull();
        assertThat(node.mantle.callsAs).isEmpty();
        assertThat(node.mantle.spaces).containsKey("plain");
    }
}
