package dev.andromeda.local.cli;

import dev.andromeda.examples.corpus.CorpusGenerator;
import dev.andromeda.examples.corpus.CorpusServer;
import dev.andromeda.local.Constellation;
import dev.andromeda.local.demo.WordFreqJob;
import dev.andromeda.local.repl.Repl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./m31 up | demo | repl}: the local constellation from a terminal. */
@Command(name = "m31", mixinStandardHelpOptions = true, version = "m31 0.1.0",
        description = "Andromeda (M31): a distributed operating system, here on one machine.",
        subcommands = {M31Command.Up.class, M31Command.Demo.class, M31Command.ReplCommand.class})
public final class M31Command implements Callable<Integer> {

    @Option(names = "--home", description = "state directory (default: ${DEFAULT-VALUE})", defaultValue = ".m31")
    Path home;

    @Option(names = "--port", description = "gateway port (default: ${DEFAULT-VALUE})", defaultValue = "8031")
    int port;

    @Option(names = "--nodes", split = ",", description = "fibril node names (default: ${DEFAULT-VALUE})", defaultValue = "E0,E1")
    List<String> nodes;

    @Override
    public Integer call() {
        CommandLine.usage(this, System.out);
        return 0;
    }

    Constellation start(boolean durable) throws Exception {
        System.out.println("starting the constellation (nodes " + String.join(", ", nodes) + ") …");
        Constellation c = Constellation.start(new Constellation.Options(home, port, nodes, durable));
        System.out.printf("ready in %.1f s — gateway %s%n", c.startupTime().toMillis() / 1000.0, c.gatewayUrl());
        return c;
    }

    @Command(name = "up", description = "Start the constellation and keep it running (Ctrl-C stops it).")
    static final class Up implements Callable<Integer> {
        @CommandLine.ParentCommand M31Command parent;

        @Override
        public Integer call() throws Exception {
            Constellation c;
            try {
                c = parent.start(true);
            } catch (dev.andromeda.local.HomeLock.InUse e) {
                System.err.println("m31: " + e.getMessage());
                return 1;
            }
            Runtime.getRuntime().addShutdownHook(new Thread(c::close, "m31-shutdown"));
            String g = c.gatewayUrl();
            Path token = parent.home.resolve("token");
            System.out.println();
            System.out.println("The admin token is in " + token + ". Try:");
            System.out.println("  export M31=" + g + " TOKEN=$(cat " + token + ")");
            System.out.println("  curl -s -H \"Authorization: Bearer $TOKEN\" $M31/net");
            System.out.println("  curl -s -X PUT -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\");
            System.out.println("       -d '{\"key\":\"name\",\"attrs\":{\"age\":\"Int\"}}' $M31/fs/people");
            System.out.println("  curl -s -X PUT -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\");
            System.out.println("       -d '{\"attrs\":{\"age\":36}}' $M31/fs/people/ada");
            System.out.println("  curl -s -H \"Authorization: Bearer $TOKEN\" \"$M31/fs/people?age.gt=30&fmt=JSON\"");
            System.out.println("  curl -s -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\");
            System.out.println("       -d '{\"source\":\"var sys = require(\\\"sys\\\"); 6 * 7\"}' $M31/fibrils");
            System.out.println("  curl -s -H \"Authorization: Bearer $TOKEN\" \"$M31/fibrils/<id>?wait=10\"");
            System.out.println();
            System.out.println("Or, in another terminal, ./m31 repl: JavaScript run by a fibril, line by line.");
            System.out.println("Running. Ctrl-C stops the constellation; data stays in " + parent.home + ".");
            Thread.currentThread().join();
            return 0;
        }
    }

    @Command(name = "demo", description = "Run the paper's word count (examples/wordfreq.js) on a generated corpus.")
    static final class Demo implements Callable<Integer> {
        @CommandLine.ParentCommand M31Command parent;

        @Option(names = "--books", defaultValue = "24", description = "books in the corpus (default: ${DEFAULT-VALUE})")
        int books;

        @Option(names = "--book-bytes", defaultValue = "250000", description = "bytes of text per book (default: ${DEFAULT-VALUE})")
        long bookBytes;

        @Option(names = "--seed", defaultValue = "31", description = "corpus seed (default: ${DEFAULT-VALUE})")
        long seed;

        @Override
        public Integer call() throws Exception {
            Path corpus = parent.home.resolve("corpus-" + seed + "-" + books + "x" + bookBytes);
            if (!Files.exists(corpus.resolve("index.html"))) {
                long bytes = CorpusGenerator.generate(corpus, new CorpusGenerator.Options(seed, books, bookBytes, 20_000));
                System.out.printf("generated %d books, %.1f MB of text, in %s%n", books, bytes / 1e6, corpus);
            }
            // A demo is a throwaway run: it must not mix its counts into a constellation kept by `up`.
            parent.home = parent.home.resolve("demo");
            try (CorpusServer server = new CorpusServer(corpus); Constellation c = parent.start(false)) {
                WordFreqJob job = new WordFreqJob(c.gatewayUrl(), c.token());
                System.out.println("crawling " + server.seedUrl() + " …");
                WordFreqJob.Result r = job.run(server.seedUrl(), Duration.ofMinutes(20));
                if (r.fibril().getState() != dev.andromeda.client.model.Fibril.StateEnum.DONE) {
                    System.err.println("wordfreq " + r.fibril().getState() + ": " + r.fibril().getError());
                    return 1;
                }
                System.out.printf("wordfreq finished in %.1f s (fibril %s)%n%n", r.elapsed().toMillis() / 1000.0, r.fibrilId());
                job.top(10).forEach(System.out::println);
                Object pi = r.fibril().getResult();
                long piCount = pi instanceof Map<?, ?> m && m.get("freq") instanceof Number n ? n.longValue() : -1;
                System.out.println();
                System.out.println("pi: " + piCount);
                return 0;
            }
        }
    }

    @Command(name = "repl", description = "Talk to a running constellation in JavaScript, the language of its fibrils.")
    static final class ReplCommand implements Callable<Integer> {
        @CommandLine.ParentCommand M31Command parent;

        @Option(names = "--url", description = "the gateway (default: http://127.0.0.1:<port>, as ./m31 up serves it)")
        String url;

        @Option(names = "--token", description = "a bearer token (default: $M31_TOKEN, else <home>/token)")
        String token;

        @Option(names = "--node", description = "start the session's fibril on this node (default: where the scheduler places it)")
        String node;

        @Override
        public Integer call() throws Exception {
            String gateway = url != null ? url : "http://127.0.0.1:" + parent.port;
            String bearer = token != null ? token : System.getenv("M31_TOKEN");
            if (bearer == null) {
                Path file = parent.home.resolve("token");
                if (!Files.exists(file)) {
                    System.err.println("no token: start a constellation with ./m31 up (it writes " + file
                            + "), or give --token or M31_TOKEN");
                    return 2;
                }
                bearer = Files.readString(file).strip();
            }
            Repl repl = new Repl(gateway, bearer, node);
            try {
                return onATerminal()
                        ? repl.interactive(parent.home.resolve("repl_history"))
                        : repl.piped(System.in, System.out, System.err);
            } catch (dev.andromeda.client.ApiException e) {
                if (e.getCode() == 0) {
                    // the generated client's way of saying it never got an answer
                    System.err.println("cannot reach the constellation at " + gateway + " ("
                            + (e.getCause() == null ? e.getMessage() : e.getCause()) + "); is ./m31 up running?");
                } else {
                    System.err.println("the constellation at " + gateway + " answered " + e.getCode() + ": "
                            + (e.getResponseBody() == null ? e.getMessage() : e.getResponseBody()));
                }
                return 1;
            } catch (java.io.IOException e) {
                System.err.println("cannot reach the constellation at " + gateway + " (" + e + "); is ./m31 up running?");
                return 1;
            }
        }
    }

    /** Whether stdin and stdout are a terminal (JDK 22+ has a console on a pipe too, and says so). */
    static boolean onATerminal() {
        java.io.Console c = System.console();
        if (c == null) return false;
        try {
            return (boolean) java.io.Console.class.getMethod("isTerminal").invoke(c);
        } catch (ReflectiveOperationException e) {
            return true; // JDK 21: a console exists only on a terminal
        }
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new M31Command()).execute(args));
    }
}
