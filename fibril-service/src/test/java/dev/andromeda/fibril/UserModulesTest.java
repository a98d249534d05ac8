package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.fibril.nucleus.Fibril;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** require('/code/…'): user modules from the store, sandboxed, compiled once per node, one instance per fibril. */
class UserModulesTest {

    TestNode node = new TestNode();

    @AfterEach
    void stop() { node.close(); }

    static final String COUNTER = """
            var n = 0;
            exports.next = function () { return ++n; };
            exports.add = function (a, b) { return a + b; };
            exports.sandboxed = typeof Packages + ',' + typeof java + ',' + typeof require('sys').spawn;
            """;

    String store(String source) {
        return node.mantle.putCode(source).join();
    }

    @Test
    void aStoredModuleLoadsByFingerprintOncePerFibril() {
        String fp = store(COUNTER);
        Fibril f = node.run("var m = require('/code/" + fp + "'), again = require('/code/" + fp + "');\n"
                + "m.next(); [m.add(2, 3), again.next(), m === again, m.sandboxed]");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().toString()).isEqualTo("[5,2,true,\"undefined,undefined,function\"]");
    }

    @Test
    void eachFibrilHasItsOwnInstanceOfTheNodesCompiledCode() {
        String fp = store(COUNTER);
        Fibril first = node.run("var m = require('/code/" + fp + "'); m.next(); m.next()");
        assertThat(first.result().asInt()).isEqualTo(2);
        assertThat(node.nucleus.cachedModule(fp)).isNotNull();
        // compiled once per node: the second fibril no longer needs the store
        node.mantle.code.clear();
        Fibril second = node.run("require('/code/" + fp + "').next()");
        assertThat(second.state()).as(second.error()).isEqualTo(Fibril.State.DONE);
        assertThat(second.result().asInt()).isEqualTo(1);
    }

    @Test
    void aModuleLoadsByAnAliasThatNamesItsCode() {
        String fp = store(COUNTER);
        node.mantle.aliases.put("counter", "/code/" + fp);
        node.mantle.aliases.put("elsewhere", "/fs/words");
        Fibril f = node.run("var m = require('/code/counter'); var e;\n"
                + "try { require('/code/elsewhere'); } catch (x) { e = x.message; }\n"
                + "var u; try { require('/code/nobody'); } catch (x) { u = x.message; }\n"
                + "[m.add(1, 1), e, u]");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().get(0).asInt()).isEqualTo(2);
        assertThat(f.result().get(1).asString()).contains("names /fs/words, not code");
        assertThat(f.result().get(2).asString()).contains("no module /code/nobody").contains("no alias 'nobody'");
    }

    @Test
    void unknownBrokenAndOversizedModulesAreClearErrors() {
        String broken = store("exports.x = 1;\nexports.y = (;\n");
        String big = store("// " + "x".repeat(2000) + "\nexports.z = 1;");
        node.close();
        node = new TestNode(s -> s.setMaxSourceBytes(1000));
        node.mantle.code.put(broken, "exports.x = 1;\nexports.y = (;\n");
        node.mantle.code.put(big, "// " + "x".repeat(2000) + "\nexports.z = 1;");
        String none = "0".repeat(64);
        Fibril f = node.run("function err(name) { try { require(name); return 'loaded'; } catch (e) { return e.message; } }\n"
                + "[err('/code/" + none + "'), err('/code/" + broken + "'), err('/code/" + big + "'), err('/code/Bad Name'), err('nosuch')]");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().get(0).asString()).contains("no module /code/" + none).contains("nothing is stored");
        assertThat(f.result().get(1).asString()).contains("syntax error at line 2");
        assertThat(f.result().get(2).asString()).contains("larger than 1000 bytes");
        assertThat(f.result().get(3).asString()).contains("names no module");
        assertThat(f.result().get(4).asString()).contains("no module 'nosuch'").contains("/code/");
    }

    @Test
    void aModuleCannotReachJava() {
        String fp = store("exports.sys = java.lang.System;");
        Fibril f = node.run("try { require('/code/" + fp + "'); 'reached' } catch (e) { e.message }");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        assertThat(f.result().asString()).contains("ReferenceError").contains("\"java\" is not defined").contains("line 1");
    }
}
