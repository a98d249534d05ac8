package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.mantle.Mantle;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Channels opened ahead for sys.spawn, one supply per identity the node spawns for. A crawl
 * spawns its children one after another, each spawn waiting on two channel creations; taken
 * from here they are ready, and the supply is refilled in the background, several at a time.
 * The supply starts with the second take, so a fibril that spawns once opens no spare channel.
 * At most {@link #TARGET} spare channels per identity stay open unused (ephemeral channels are
 * rows multiplexed on one topic, so they cost little).
 */
final class SpawnChannels {

    static final int TARGET = 32;
    private static final int PARALLEL = 8;
    static final JsonNode SPEC = JsonNodeFactory.instance.objectNode().put("type", "Any").put("mode", "async").put("capabilities", true);

    private final Mantle mantle;
    private final ArrayDeque<Mantle.Opened> ready = new ArrayDeque<>();
    private int opening;
    private int takes;

    SpawnChannels(Mantle mantle) {
        this.mantle = mantle;
    }

    /** Two channels (to the child, from the child), each with its endpoints' capabilities. */
    CompletableFuture<Mantle.Opened[]> pair() {
        CompletableFuture<Mantle.Opened> to = take(), from = take();
        return to.thenCombine(from, (a, b) -> new Mantle.Opened[] {a, b});
    }

    /** Two channels at once when two are ready (the spawn then need not wait at all), else null. */
    Mantle.Opened[] readyPair() {
        Mantle.Opened[] pair = null;
        synchronized (this) {
            if (ready.size() >= 2) {
                takes += 2;
                pair = new Mantle.Opened[] {ready.pollFirst(), ready.pollFirst()};
            }
        }
        if (pair != null) refill();
        return pair;
    }

    private CompletableFuture<Mantle.Opened> take() {
        Mantle.Opened id;
        synchronized (this) {
            takes++;
            id = ready.pollFirst();
        }
        refill();
        return id != null ? CompletableFuture.completedFuture(id) : mantle.openChannel(SPEC);
    }

    private void refill() {
        while (true) {
            synchronized (this) {
                if (takes < 2 || opening >= PARALLEL || ready.size() + opening >= TARGET) return;
                opening++;
            }
            mantle.openChannel(SPEC).whenComplete((id, e) -> {
                synchronized (this) {
                    opening--;
                    if (id != null) ready.addLast(id);
                }
                // a failure stops the refill until the next take: no retry loop against a sick channel service
                if (id != null) refill();
            });
        }
    }
}
