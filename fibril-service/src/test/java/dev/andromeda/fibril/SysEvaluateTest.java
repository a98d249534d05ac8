package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.fibril.nucleus.Fibril;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code sys.evaluate}: script text run in the fibril's global scope, the REPL's every line. */
class SysEvaluateTest {

    static TestNode node;

    @BeforeAll
    static void start() { node = new TestNode(); }

    @AfterAll
    static void stop() { node.close(); }

    static String run(String script) {
        Fibril f = node.run(script);
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        return f.result().toString();
    }

    @Test
    void declarationsOfOneEvalAreTheGlobalsOfTheNext() {
        assertThat(run("""
                var sys = require('sys');
                sys.evaluate('var x = 2; function sq(n) { return n * n; } const k = 10; let y;');
                var r = sys.evaluate('let z = sq(x) + k; z * 2');
                [r, typeof sq, x, k, y === undefined, z]
                """)).isEqualTo("[28,\"function\",2,10,true,14]");
    }

    @Test
    void anEvalAnswersItsLastExpressionStatementElseUndefined() {
        assertThat(run("""
                var sys = require('sys');
                [sys.evaluate('1 + 1'), sys.evaluate('var a = 5') === undefined, sys.evaluate('if (true) { 3 }') === undefined,
                 sys.evaluate("'no semicolon'"), sys.evaluate('({o: 1})').o, sys.evaluate('')  === undefined, sys.evaluate('a;; a * 3')]
                """)).isEqualTo("[2,true,true,\"no semicolon\",1,true,15]");
    }

    @Test
    void aLastExpressionThatStartsWithAnOperatorIsAnsweredWhole() {
        // Rhino places a unary expression at its operand: the answer must still be the whole expression
        assertThat(run("""
                var sys = require('sys');
                [sys.evaluate('typeof nothingHere'), sys.evaluate('var q = 2;\\n-q'), sys.evaluate('!false'),
                 sys.evaluate('void 0') === undefined, sys.evaluate('// a comment\\ntypeof q // another'),
                 sys.evaluate('var hoisted = typeof hoisted; hoisted')]
                """)).isEqualTo("[\"undefined\",-2,true,true,\"number\",\"undefined\"]");
    }

    @Test
    void destructuringLoopHeadsAndRedeclarationsBehaveAsInAScript() {
        assertThat(run("""
                var sys = require('sys');
                sys.evaluate('var {p, q: [r1, r2]} = {p: 1, q: [2, 3]}; for (var k in {key: 1}) {} for (var i = 0; i < 3; i++) {}');
                sys.evaluate('var p; var i');            // var without a value keeps the value
                sys.evaluate('if (true) { var inBlock = 7; let hidden = 8; }');
                [p, r1, r2, k, i, inBlock, typeof hidden,
                 sys.evaluate('function outer() { var local = 1; return local; } outer()'), typeof local]
                """)).isEqualTo("[1,2,3,\"key\",3,7,\"undefined\",1,\"undefined\"]");
    }

    @Test
    void aSnippetWaitsLikeTheRestOfItsFibril() {
        // sys.sleep parks the fibril inside the evaluated function and resumes it there
        assertThat(run("""
                var sys = require('sys');
                sys.evaluate('var before = sys.clock(); sys.sleep(30); var slept = sys.clock() - before;');
                [slept >= 29, sys.evaluate('var acc = 0; for (var j = 0; j < 3; j++) { sys.sleep(5); acc += j; } acc')]
                """)).isEqualTo("[true,3]");
    }

    @Test
    void errorsAreThrownAtTheCallAsTheirOwnKindAndChangeNothingBeforeThem() {
        assertThat(run("""
                var sys = require('sys'), out = [];
                try { sys.evaluate('var ok = 1; var = ;'); } catch (e) { out.push(e.name, /line 1/.test(e.message), typeof ok); }
                try { sys.evaluate('var half = 1; nothing()'); } catch (e) { out.push(e.name, half); }
                try { sys.evaluate("throw new TypeError('mine')"); } catch (e) { out.push(e.name + ':' + e.message); }
                try { sys.evaluate(42); } catch (e) { out.push(e.name); }
                out
                """)).isEqualTo("[\"SyntaxError\",true,\"undefined\",\"ReferenceError\",1,\"TypeError:mine\",\"TypeError\"]");
    }

    @Test
    void evaluatedCodeStaysInTheSandbox() {
        assertThat(run("""
                var sys = require('sys'), out = [];
                try { sys.evaluate('java.lang.System.exit(1)'); } catch (e) { out.push(e.name); }
                try { sys.evaluate('Packages.java.lang.Runtime.getRuntime()'); } catch (e) { out.push(e.name); }
                out.push(typeof sys.evaluate('this.java'));
                out
                """)).isEqualTo("[\"ReferenceError\",\"ReferenceError\",\"undefined\"]");
        // and it counts against the fibril's instruction budget: an endless loop is stopped, not run forever
        try (TestNode small = new TestNode(s -> s.setMaxInstructions(2_000_000))) {
            Fibril f = small.run("require('sys').evaluate('while (true) {}')");
            assertThat(f.state()).isEqualTo(Fibril.State.FAILED);
            assertThat(f.error()).containsIgnoringCase("instruction");
        }
    }
}
