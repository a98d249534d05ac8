package dev.andromeda.local.repl;

import dev.andromeda.client.ApiClient;
import dev.andromeda.client.ApiException;
import dev.andromeda.client.api.ChannelsApi;
import dev.andromeda.client.api.FibrilsApi;
import dev.andromeda.client.model.Channel;
import dev.andromeda.client.model.ChannelSpec;
import dev.andromeda.client.model.Endpoint;
import dev.andromeda.client.model.Fibril;
import dev.andromeda.client.model.Message;
import dev.andromeda.client.model.MessageBatch;
import dev.andromeda.client.model.SpawnRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One REPL session, held by a fibril in the constellation and reached through the gateway with
 * the generated client, as any user program would: the terminal sends each piece of source on a
 * channel of its own, the session fibril ({@code session.js}) evaluates it with
 * {@code sys.evaluate} in its global scope and answers on a second channel. The state is the
 * fibril's, not the terminal's: it moves when the fibril moves and is checkpointed like any
 * fibril's.
 */
public final class ReplSession implements AutoCloseable {

    /** What one evaluation came to: the lines it printed, then its value or its error. */
    public record Answer(List<String> printed, String value, String error) {
        public boolean failed() { return error != null; }
    }

    /** How long a receive waits at the service before the session's fibril is looked at again. */
    private static final int POLL_SECONDS = 10;

    private final FibrilsApi fibrils;
    private final ChannelsApi channels;
    private final String node;
    private Channel input;
    private Channel output;
    private String fibrilId;
    private long sent;

    private ReplSession(ApiClient client, String node) {
        this.fibrils = new FibrilsApi(client);
        this.channels = new ChannelsApi(client);
        this.node = node;
    }

    /** A new session on {@code node} (null: wherever the scheduler places it). */
    public static ReplSession open(String gatewayUrl, String token, String node) throws ApiException {
        ApiClient client = new ApiClient();
        client.updateBaseUri(gatewayUrl);
        client.setReadTimeout(Duration.ofSeconds(POLL_SECONDS + 30));
        client.setRequestInterceptor(b -> b.header("Authorization", "Bearer " + token));
        ReplSession s = new ReplSession(client, node);
        s.start();
        // a terminal that is closed (SIGHUP) or a REPL that is stopped (SIGTERM) ends the JVM
        // without close(): the session would sit parked for its whole wall clock (hours). Killing
        // it on the way out costs one request; only kill -9 leaves it to the wall clock.
        s.onExit = new Thread(() -> { if (!s.closed) s.stop(); }, "m31-repl-exit");
        Runtime.getRuntime().addShutdownHook(s.onExit);
        return s;
    }

    private volatile boolean closed;
    private Thread onExit;

    private void start() throws ApiException {
        input = channels.createChannel(new ChannelSpec().type("Str").mode(ChannelSpec.ModeEnum.ASYNC));
        output = channels.createChannel(new ChannelSpec().mode(ChannelSpec.ModeEnum.ASYNC));
        SpawnRequest spawn = new SpawnRequest().source(SOURCE)
                .args(List.of(endpoint(input.getRecv()), endpoint(output.getSend())));
        if (node != null) spawn.node(node);
        // a session lives as long as someone types into it, not the 30 minutes a fibril gets by
        // default; a node that allows less answers 400 naming wallClock, and gets its own default
        spawn.wallClock(SESSION_WALL_CLOCK.toSeconds());
        try {
            fibrilId = fibrils.spawnFibril(spawn).getId();
        } catch (ApiException e) {
            if (e.getCode() != 400 || e.getResponseBody() == null || !e.getResponseBody().contains("\"wallClock\"")) throw e;
            fibrilId = fibrils.spawnFibril(spawn.wallClock(null)).getId();
        }
        sent = 0;
    }

    /** How long a session may live (asked of the node; at most its m31.fibril.max-wall-clock). */
    public static final Duration SESSION_WALL_CLOCK = Duration.ofHours(8);

    /** Just the three members a fibril revives as a live endpoint. */
    private static Map<String, Object> endpoint(Endpoint e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("$ch", e.get$Ch());
        m.put("end", e.getEnd().getValue());
        if (e.getCap() != null) m.put("cap", e.getCap());
        return m;
    }

    /** The fibril that holds the session. */
    public String fibrilId() { return fibrilId; }

    /** Where the session's fibril runs now. */
    public Fibril fibril() throws ApiException { return fibrils.getFibril(fibrilId, null); }

    /**
     * Evaluates {@code source} in the session and waits for its answer, handing each printed line
     * to {@code printed} as it comes. Throws {@link SessionEnded} if the session's fibril ended
     * (killed, out of its wall-clock or instruction budget, or {@code sys.exit()}).
     */
    public Answer evaluate(String source, Consumer<String> printed) throws ApiException {
        // the idempotency key makes a retried send of this line count once
        channels.sendMessage(input.getId(), source, fibrilId + ":" + (++sent));
        List<String> lines = new ArrayList<>();
        while (true) {
            MessageBatch batch;
            try {
                batch = channels.receiveMessages(output.getId(), POLL_SECONDS, 100, null, null, null, null);
            } catch (ApiException e) {
                if (e.getCode() != 410) throw e;
                throw new SessionEnded(fibril()); // interrupted: the answers' channel was closed
            }
            for (Message m : batch.getMessages() == null ? List.<Message>of() : batch.getMessages()) {
                if (!(m.getValue() instanceof Map<?, ?> v)) continue;
                if (v.containsKey("out")) {
                    String line = String.valueOf(v.get("out"));
                    lines.add(line);
                    if (printed != null) printed.accept(line);
                } else if (v.containsKey("ok")) {
                    return new Answer(lines, String.valueOf(v.get("ok")), null);
                } else if (v.containsKey("err")) {
                    return new Answer(lines, null, String.valueOf(v.get("err")));
                }
            }
            if (batch.getMessages() == null || batch.getMessages().isEmpty() || Boolean.TRUE.equals(batch.getClosed())) {
                Fibril f = fibril();
                if (f.getEnded() != null || Boolean.TRUE.equals(batch.getClosed())) throw new SessionEnded(f);
            }
        }
    }

    public Answer evaluate(String source) throws ApiException { return evaluate(source, null); }

    /**
     * Stops what the session is running, from another thread (Ctrl-C): the fibril is killed and
     * the answers' channel closed, so that a waiting {@link #evaluate} ends at once with
     * {@link SessionEnded}.
     */
    public void interrupt() {
        stop();
    }

    /** Stops what the session is running (and the session with it) and starts a fresh one. */
    public void restart() throws ApiException {
        stop();
        start();
    }

    private void stop() {
        try {
            fibrils.killFibril(fibrilId);
        } catch (ApiException ignored) {
            // already ended
        }
        for (Channel c : new Channel[] {input, output}) {
            try {
                channels.closeChannel(c.getId());
            } catch (ApiException ignored) {
                // closed already
            }
        }
    }

    /** Closing the input ends the session's loop (its receive answers null); then both channels go. */
    @Override
    public void close() {
        if (closed) return;
        try {
            channels.closeChannel(input.getId());
            fibrils.getFibril(fibrilId, 10);
        } catch (ApiException ignored) {
            // the constellation went away first
        }
        stop();
        closed = true;
        if (onExit != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(onExit);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to: closed says there is nothing left to do
            }
        }
    }

    /** The session's fibril ended; its definitions are gone with it. */
    public static final class SessionEnded extends RuntimeException {
        private final transient Fibril fibril;

        SessionEnded(Fibril f) {
            super("the session's fibril " + f.getId() + " ended (" + f.getState()
                    + (f.getError() == null ? "" : ": " + f.getError().lines().findFirst().orElse("")) + ")");
            this.fibril = f;
        }

        public Fibril fibril() { return fibril; }
    }

    static final String SOURCE;

    static {
        try (InputStream in = ReplSession.class.getResourceAsStream("session.js")) {
            if (in == null) throw new IllegalStateException("session.js is missing from the classpath");
            SOURCE = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
