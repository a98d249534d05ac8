package dev.andromeda.fibril.modules;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.mozilla.javascript.CompilerEnvirons;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.EvaluatorException;
import org.mozilla.javascript.Function;
import org.mozilla.javascript.Node;
import org.mozilla.javascript.Parser;
import org.mozilla.javascript.ScriptRuntime;
import org.mozilla.javascript.Scriptable;
import org.mozilla.javascript.Token;
import org.mozilla.javascript.ast.AstNode;
import org.mozilla.javascript.ast.AstRoot;
import org.mozilla.javascript.ast.ExpressionStatement;
import org.mozilla.javascript.ast.ForInLoop;
import org.mozilla.javascript.ast.FunctionNode;
import org.mozilla.javascript.ast.Name;
import org.mozilla.javascript.ast.VariableDeclaration;
import org.mozilla.javascript.ast.VariableInitializer;

/**
 * What {@code sys.evaluate(src)} runs: a script's text as a function of the fibril's global scope.
 *
 * <p>Why a function and not a script: a fibril waits by capturing its continuation, and Rhino
 * captures one only through interpreted frames. A script run by a host function would sit under a
 * Java frame and could not wait (the reason a module's top level cannot); a function compiled here
 * and called from interpreted code runs in the caller's interpreter loop, so a snippet can
 * receive, fetch, sleep or migrate like the rest of the fibril, and it travels with it — the
 * function is ordinary fibril state, its code inside it.
 *
 * <p>So that the snippet behaves as a script would, its text is rewritten before compiling:
 * {@code var} declarations outside functions, and {@code let}/{@code const} at its top level,
 * become assignments to the global scope (what the next snippet sees, as in Node's REPL);
 * top-level function declarations are published there too; and the value of a last expression
 * statement is returned (a script's completion value). Everything else is left as written, so
 * positions in error messages stay the user's own.
 */
final class Snippets {

    static final String NAME = "sys.evaluate";

    private Snippets() {}

    /** The snippet compiled, in the fibril's sandboxed context, as a function of {@code global}. */
    static Function compile(Context cx, Scriptable global, String source) {
        String body = functionBody(source);
        // the body goes on the wrapper's first line, so line numbers stay the snippet's own
        return cx.compileFunction(global, "function () {" + body + "\n}", NAME, 1, null);
    }

    /** The rewritten text (see the class comment); a syntax error is thrown as a JS SyntaxError. */
    static String functionBody(String source) {
        AstRoot root;
        try {
            CompilerEnvirons env = new CompilerEnvirons();
            env.setLanguageVersion(Context.VERSION_ES6);
            env.setRecordingComments(false);
            env.setRecoverFromErrors(false);
            root = new Parser(env).parse(source, NAME, 1);
        } catch (EvaluatorException e) {
            throw ScriptRuntime.constructError("SyntaxError", e.details() + " (" + NAME + " line " + e.lineNumber()
                    + ", column " + e.columnNumber() + ")");
        }
        List<Edit> edits = new ArrayList<>();
        StringBuilder published = new StringBuilder();
        root.visit(node -> {
            if (node == root) return true;
            if (node instanceof FunctionNode fn) {
                if (fn.getParent() == root && fn.getFunctionType() == FunctionNode.FUNCTION_STATEMENT && fn.getFunctionName() != null) {
                    // hoisted inside the wrapper already: published to the global scope before anything runs
                    String name = fn.getFunctionName().getIdentifier();
                    published.append("this.").append(name).append(" = ").append(name).append("; ");
                }
                return false; // its declarations are its own
            }
            if (node instanceof VariableDeclaration vd && (vd.getType() == Token.VAR || vd.getParent() == root)) {
                globalAssignment(source, vd, edits);
                if (vd.getType() == Token.VAR) {
                    // hoisted, as in a script: declared (undefined) before anything runs, unless it is already
                    for (VariableInitializer v : vd.getVariables()) {
                        if (v.getTarget() instanceof Name n) {
                            published.append("if (!('").append(n.getIdentifier()).append("' in this)) this.")
                                    .append(n.getIdentifier()).append(" = undefined; ");
                        }
                    }
                }
            }
            return true;
        });
        AstNode last = null;
        int lastStart = 0;
        for (Node n : root) {
            if (last != null) lastStart = last.getAbsolutePosition() + last.getLength();
            last = (AstNode) n;
        }
        if (last instanceof ExpressionStatement es) {
            AstNode e = es.getExpression();
            // from where the statement before it ends: Rhino starts a unary expression (typeof x,
            // !x, -x) at its operand, so the statement's own start cannot be trusted. The ";"
            // ends a previous statement written without one
            edits.add(new Edit(lastStart, 0, lastStart == 0 ? "return (" : ";return ("));
            edits.add(new Edit(e.getAbsolutePosition() + e.getLength(), 0, ")"));
        }
        StringBuilder out = new StringBuilder(source);
        // from the end, so earlier positions stay valid; at one position, the later-made edit first
        List<Edit> ordered = new ArrayList<>(edits);
        java.util.Collections.reverse(ordered);
        ordered.sort(Comparator.comparingInt(Edit::at).reversed());
        for (Edit ed : ordered) out.replace(ed.at(), ed.at() + ed.length(), ed.text());
        return published + out.toString();
    }

    /**
     * {@code var a = 1, {b} = o, c} → {@code void (a = 1, {b} = o, c = c)}: the same values, put in
     * the global scope (parenthesized, so a destructuring pattern is not read as a block). In a
     * {@code for (var k in o)} head the keyword just goes.
     */
    private static void globalAssignment(String source, VariableDeclaration vd, List<Edit> edits) {
        int at = vd.getAbsolutePosition();
        String keyword = switch (vd.getType()) {
            case Token.VAR -> "var";
            case Token.LET -> "let";
            case Token.CONST -> "const";
            default -> null;
        };
        if (keyword == null || !source.startsWith(keyword, at)) return; // not as written: leave it alone
        List<VariableInitializer> vars = vd.getVariables();
        if (vd.getParent() instanceof ForInLoop loop && loop.getIterator() == vd) {
            edits.add(new Edit(at, keyword.length(), ""));
            return;
        }
        // "void (" rather than "(": a line that starts with "(" would call the line before it
        edits.add(new Edit(at, keyword.length(), "void ("));
        int end = at;
        for (VariableInitializer v : vars) {
            AstNode last = v.getInitializer() != null ? v.getInitializer() : v.getTarget();
            end = last.getAbsolutePosition() + last.getLength();
            if (v.getInitializer() == null && v.getTarget() instanceof Name n) {
                String id = n.getIdentifier();
                // var x; keeps a value x already has, as a script's would; let x; starts afresh
                String value = vd.getType() == Token.VAR ? "(typeof " + id + " === 'undefined' ? undefined : " + id + ")" : "undefined";
                edits.add(new Edit(end, 0, " = " + value));
            }
        }
        edits.add(new Edit(end, 0, ")"));
    }

    private record Edit(int at, int length, String text) {}
}
