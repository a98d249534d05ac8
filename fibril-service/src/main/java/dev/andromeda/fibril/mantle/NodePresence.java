package dev.andromeda.fibril.mantle;

import dev.andromeda.common.http.ServiceClient;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this node known to the constellation: binds the node's name in naming (retrying until it
 * works) and heartbeats the scheduler every second. Both mantle services may start after the node
 * does, so failures are retried quietly: logged once when the peer goes away, once when it is back.
 */
public final class NodePresence implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(NodePresence.class);

    private final Mantle mantle;
    private final String node;
    private final IntSupplier running;
    private final ScheduledExecutorService timer;
    private final AtomicBoolean bound = new AtomicBoolean();
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean schedulerDown;

    public NodePresence(Mantle mantle, String node, IntSupplier running) {
        this.mantle = mantle;
        this.node = node;
        this.running = running;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "fibril-" + node + "-presence");
            t.setDaemon(true);
            return t;
        });
    }

    /** Called once the application is ready to serve: before that, routing here would fail. */
    public void start() {
        if (!started.compareAndSet(false, true)) return;
        timer.scheduleWithFixedDelay(this::tick, 0, 1, TimeUnit.SECONDS);
    }

    public boolean bound() { return bound.get(); }

    private void tick() {
        if (!bound.get()) {
            try {
                // without a generation: a node started again at a new address (a new port, a
                // rescheduled pod) takes its name over; naming counts the move. With one, the
                // stored binding would refuse the new address and keep the dead one for good
                mantle.rebind(node, "node").get(5, TimeUnit.SECONDS);
                bound.set(true);
                log.info("node {} bound in naming", node);
            } catch (Exception e) {
                if (e.getCause() instanceof ServiceClient.RemoteProblem p) {
                    log.warn("node {}: naming refuses the binding ({} {})", node, p.status(), p.getMessage());
                } else {
                    log.debug("node {}: naming not reachable yet ({})", node, e.toString());
                }
            }
        }
        try {
            mantle.heartbeat(running.getAsInt()).get(5, TimeUnit.SECONDS);
            if (schedulerDown) log.info("node {}: scheduler reachable again", node);
            schedulerDown = false;
        } catch (Exception e) {
            if (!schedulerDown) log.info("node {}: scheduler not reachable, heartbeats keep trying ({})", node, e.toString());
            schedulerDown = true;
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
