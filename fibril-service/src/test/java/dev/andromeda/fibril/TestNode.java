package dev.andromeda.fibril;

import dev.andromeda.common.security.Caller;
import dev.andromeda.fibril.effects.EffectCombiner;
import dev.andromeda.fibril.nucleus.Fibril;
import dev.andromeda.fibril.nucleus.FibrilSettings;
import dev.andromeda.fibril.nucleus.Nucleus;
import dev.andromeda.fibril.nucleus.Program;
import dev.andromeda.fibril.nucleus.SpawnSpec;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/** One nucleus on a fake mantle whose scheduler places every spawn back on this node. */
final class TestNode implements AutoCloseable {

    static final JsonNodeFactory F = JsonNodeFactory.instance;

    final FakeMantle mantle = new FakeMantle();
    final FibrilSettings settings = new FibrilSettings();
    final EffectCombiner combiner;
    final Nucleus nucleus;

    TestNode() { this(s -> { }); }

    TestNode(Consumer<FibrilSettings> tune) {
        settings.setCarriers(2);
        tune.accept(settings);
        combiner = new EffectCombiner(mantle, "T0", settings.getFlushInterval(), settings.getFlushMaxEntries());
        nucleus = new Nucleus("T0", settings, mantle, combiner);
        mantle.spawner = req -> {
            Fibril f = nucleus.spawn(new SpawnSpec(
                    "function".equals(req.path("kind").asString()) ? Program.Kind.FUNCTION : Program.Kind.SCRIPT,
                    req.hasNonNull("source") ? req.get("source").asString() : null,
                    req.hasNonNull("fingerprint") ? req.get("fingerprint").asString() : null,
                    req.has("args") ? (ArrayNode) req.get("args") : F.arrayNode(),
                    req.has("env") ? (ObjectNode) req.get("env") : F.objectNode(),
                    text(req, "parent"), text(req, "toChild"), text(req, "fromChild"), text(req, "toChildCap"), text(req, "fromChildCap"),
                    req.hasNonNull("wallClock") ? Duration.ofSeconds(req.get("wallClock").asLong()) : null), false,
                    req.hasNonNull(FakeMantle.CALLER_FIELD) ? Caller.of(req.get(FakeMantle.CALLER_FIELD).asString(), java.util.List.of()) : null);
            return F.objectNode().put("id", f.id()).put("node", "T0");
        };
    }

    private static String text(JsonNode n, String field) {
        return n.hasNonNull(field) ? n.get(field).asString() : null;
    }

    Fibril spawn(String script, Object... args) {
        ArrayNode a = F.arrayNode();
        for (Object o : args) {
            if (o instanceof String s) a.add(s);
            else if (o instanceof Number n) a.add(n.longValue());
            else a.add(String.valueOf(o));
        }
        return nucleus.spawn(new SpawnSpec(Program.Kind.SCRIPT, script, null, a, F.objectNode(), null, null, null));
    }

    /** Runs a script to its end; fails the test if it takes longer than {@code timeout}. */
    Fibril run(String script, Duration timeout, Object... args) {
        Fibril f = spawn(script, args);
        return await(f, timeout);
    }

    Fibril run(String script, Object... args) {
        return run(script, Duration.ofSeconds(20), args);
    }

    static Fibril await(Fibril f, Duration timeout) {
        try {
            return f.end().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new AssertionError(f + " did not end within " + timeout + " (state " + f.state() + ")", e);
        }
    }

    @Override
    public void close() {
        nucleus.close();
        combiner.close();
    }

    static Duration seconds(long s) { return Duration.ofSeconds(s); }
}
