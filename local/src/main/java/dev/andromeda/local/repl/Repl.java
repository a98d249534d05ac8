package dev.andromeda.local.repl;

import dev.andromeda.client.ApiException;
import dev.andromeda.client.model.Fibril;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jline.reader.EOFError;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.ParsedLine;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.DefaultParser;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.mozilla.javascript.Context;
import org.mozilla.javascript.ContextFactory;

/**
 * {@code ./m31 repl}: the paper's REPL, in the language fibrils are written in. Each complete
 * piece of source (a line, or several while brackets or a statement are still open) is evaluated
 * by the session's fibril ({@link ReplSession}); definitions stay for the next one. From a
 * terminal, with line editing and history (JLine); from a pipe, line by line, so a file of
 * statements can be fed to it.
 */
public final class Repl {

    static final String HELP = """
            Each line is JavaScript run by a fibril of the constellation, in one global scope:
            what you define stays. sys, fs, chan, http and jam are loaded; print(...) writes a line.
              fs.mkdir('people', {key: 'name', attrs: {age: 'Int'}})
              fs.put('people', 'ada', {age: 36}); fs.query('people', {'age.gt': 30})
              var kid = sys.spawn(function (n) { return n * 2; }, [21]); kid[1].recv()
              sys.migrate('E1'); sys.self()          (the session moves, definitions and all)
            .session  where the session's fibril runs     .reset  a fresh session
            .load f   run the file f (here, on this machine) in the session
            .help     this                                 .exit   leave (or Ctrl-D)
            Ctrl-C stops what is running; the session is then started afresh.""";

    private final String gatewayUrl;
    private final String token;
    private final String node;

    public Repl(String gatewayUrl, String token, String node) {
        this.gatewayUrl = gatewayUrl;
        this.token = token;
        this.node = node;
    }

    /** From a terminal: prompts, editing, history in {@code history}. Answers the exit status. */
    public int interactive(Path history) throws IOException, ApiException {
        try (Terminal terminal = TerminalBuilder.builder().system(true).build();
             ReplSession session = ReplSession.open(gatewayUrl, token, node)) {
            LineReader reader = LineReaderBuilder.builder().appName("m31").terminal(terminal)
                    .parser(new WholeUnits())
                    .variable(LineReader.HISTORY_FILE, history)
                    .variable(LineReader.SECONDARY_PROMPT_PATTERN, "...  ")
                    .build();
            PrintStream out = new PrintStream(terminal.output(), true, StandardCharsets.UTF_8);
            out.println("M31 REPL — session fibril " + session.fibrilId() + " (.help for help)");
            AtomicBoolean interrupted = new AtomicBoolean();
            while (true) {
                String src;
                try {
                    src = reader.readLine("m31> ");
                } catch (UserInterruptException e) {
                    continue; // Ctrl-C at the prompt drops the line
                } catch (EndOfFileException e) {
                    return 0;
                }
                if (src.isBlank()) continue;
                if (isLoad(src)) {
                    src = load(src, out);
                    if (src == null) continue;
                } else if (command(src.strip(), session, out)) {
                    if (src.strip().equals(".exit")) return 0;
                    continue;
                }
                interrupted.set(false);
                Terminal.SignalHandler previous = terminal.handle(Terminal.Signal.INT, s -> {
                    interrupted.set(true);
                    session.interrupt();
                });
                try {
                    show(session.evaluate(src, out::println), out, out);
                } catch (ReplSession.SessionEnded e) {
                    out.println(interrupted.get() ? "interrupted; a fresh session starts (definitions are gone)"
                            : e.getMessage() + "; a fresh session starts (definitions are gone)");
                    session.restart();
                } finally {
                    terminal.handle(Terminal.Signal.INT, previous);
                }
            }
        }
    }

    /** From a pipe: whole units read line by line, each answer printed; 1 if any failed. */
    public int piped(java.io.InputStream in, PrintStream out, PrintStream err) throws IOException, ApiException {
        int status = 0;
        try (ReplSession session = ReplSession.open(gatewayUrl, token, node)) {
            BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            StringBuilder unit = new StringBuilder();
            String line;
            while ((line = lines.readLine()) != null) {
                if (!unit.isEmpty()) unit.append('\n');
                unit.append(line);
                String src = unit.toString();
                if (src.isBlank() || !complete(src)) continue;
                unit.setLength(0);
                if (isLoad(src)) {
                    src = load(src, err);
                    if (src == null) {
                        status = 1;
                        continue;
                    }
                } else if (command(src.strip(), session, out)) {
                    if (src.strip().equals(".exit")) break;
                    continue;
                }
                try {
                    if (!show(session.evaluate(src, out::println), out, err)) status = 1;
                } catch (ReplSession.SessionEnded e) {
                    err.println(e.getMessage());
                    return 1;
                }
            }
            if (!unit.toString().isBlank()) {
                err.println("unfinished input at the end: " + unit.toString().lines().findFirst().orElse(""));
                status = 1;
            }
        }
        return status;
    }

    private static boolean show(ReplSession.Answer a, PrintStream out, PrintStream err) {
        if (a.failed()) {
            err.println(a.error());
            return false;
        }
        out.println(a.value());
        return true;
    }

    private static boolean isLoad(String src) {
        return src.strip().startsWith(".load ");
    }

    /**
     * {@code .load file}: the file's text, to be run as one unit in the session (its var and
     * function declarations stay, as a line's do); null, said on {@code err}, when it cannot be read.
     */
    private static String load(String src, PrintStream err) {
        Path file = Path.of(src.strip().substring(".load ".length()).strip());
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            return text.isBlank() ? "undefined" : text;
        } catch (IOException | RuntimeException e) {
            err.println("cannot read " + file + ": " + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()));
            return null;
        }
    }

    /** The REPL's own commands; true when {@code src} was one. */
    private static boolean command(String src, ReplSession session, PrintStream out) throws ApiException {
        switch (src) {
            case ".help" -> out.println(HELP);
            case ".exit" -> { }
            case ".reset" -> {
                session.restart();
                out.println("a fresh session: fibril " + session.fibrilId());
            }
            case ".session" -> {
                Fibril f = session.fibril();
                out.println("fibril " + f.getId() + " on node " + f.getNode() + ", " + f.getState()
                        + ", generation " + f.getGeneration());
            }
            default -> {
                return false;
            }
        }
        return true;
    }

    private static final ContextFactory RHINO = new ContextFactory();

    /** Whether {@code src} is a whole unit (Rhino's own judgement), or a bracket or a statement is still open. */
    static boolean complete(String src) {
        if (src.strip().startsWith(".")) return true;
        try (Context cx = RHINO.enterContext()) {
            cx.setLanguageVersion(Context.VERSION_ES6);
            return cx.stringIsCompilableUnit(src);
        }
    }

    /** Asks JLine for another line while the source so far is not a whole unit. */
    private static final class WholeUnits extends DefaultParser {
        @Override
        public ParsedLine parse(String line, int cursor, ParseContext context) {
            if (context == ParseContext.ACCEPT_LINE && !line.isBlank() && !complete(line)) {
                throw new EOFError(-1, -1, "the unit goes on");
            }
            return super.parse(line, cursor, context);
        }
    }
}
