package dev.andromeda.scheduler;

import dev.andromeda.api.model.Node;
import dev.andromeda.api.model.Placement;
import dev.andromeda.common.problem.M31Problem;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import org.springframework.stereotype.Component;

/**
 * Chooses where a new fibril runs. Policy SPREAD: the live node with the fewest fibrils, where
 * a node's load is its last reported count plus the placements made here since that report, so
 * a burst of spawns within one heartbeat interval still spreads; ties go round-robin.
 *
 * <p>Leader election goes here (a later issue): replicas of the scheduler will take a
 * PostgreSQL advisory lock ({@code pg_try_advisory_lock}) on a dedicated connection, and only
 * the holder places; the others forward placements to it or answer 503 until they win. The
 * in-memory placement counts below are then the leader's alone, which is what makes them right.
 */
@Component
public class Placer {

    public static final String CONSTELLATION = "constellation";

    private final NodeRegistry registry;
    private final ReentrantLock lock = new ReentrantLock();
    /** Placements made since each node's last heartbeat (reset by the heartbeat that reports them). */
    private final Map<String, Integer> placedSinceHeartbeat = new HashMap<>();
    private long roundRobin;

    public Placer(NodeRegistry registry) {
        this.registry = registry;
    }

    /** A heartbeat brought the node's own count: what we placed before it is included now. */
    public void heartbeatSeen(String node) {
        lock.lock();
        try {
            placedSinceHeartbeat.remove(node);
        } finally {
            lock.unlock();
        }
    }

    /** A placement that did not turn into a fibril (the forward failed) no longer counts. */
    public void unplaced(String node) {
        lock.lock();
        try {
            placedSinceHeartbeat.computeIfPresent(node, (k, v) -> v <= 1 ? null : v - 1);
        } finally {
            lock.unlock();
        }
    }

    /**
     * @param node          exactly this node (404 unknown, 503 not alive), or null
     * @param constellation only nodes labelled constellation=…, or null
     * @param exclude       nodes not to choose (already tried)
     */
    public Placement place(String node, String constellation, Set<String> exclude) {
        if (node != null && !node.isBlank()) {
            Node n = registry.find(node).orElseThrow(() -> M31Problem.notFound("no node " + node + " is registered"));
            if (!Boolean.TRUE.equals(n.getAlive())) throw M31Problem.unavailable("node " + node + " is not alive");
            if (constellation != null && !constellation.equals(n.getLabels().get(CONSTELLATION))) {
                throw M31Problem.conflict("node " + node + " is not in constellation " + constellation);
            }
            count(node);
            return new Placement().node(n.getName()).url(n.getUrl());
        }
        List<Node> candidates = new ArrayList<>();
        for (Node n : registry.alive()) {
            if (exclude.contains(n.getName())) continue;
            if (constellation != null && !constellation.equals(n.getLabels().get(CONSTELLATION))) continue;
            candidates.add(n);
        }
        if (candidates.isEmpty()) {
            throw M31Problem.unavailable(constellation == null ? "no live node to run a fibril on"
                    : "no live node in constellation " + constellation);
        }
        Node chosen = spread(candidates);
        return new Placement().node(chosen.getName()).url(chosen.getUrl());
    }

    private Node spread(Collection<Node> candidates) {
        lock.lock();
        try {
            long least = Long.MAX_VALUE;
            List<Node> tied = new ArrayList<>();
            for (Node n : candidates) { // candidates come ordered by name, so the tie order is stable
                long load = (long) n.getFibrils() + placedSinceHeartbeat.getOrDefault(n.getName(), 0);
                if (load < least) {
                    least = load;
                    tied.clear();
                }
                if (load == least) tied.add(n);
            }
            Node chosen = tied.get((int) Math.floorMod(roundRobin++, (long) tied.size()));
            placedSinceHeartbeat.merge(chosen.getName(), 1, Integer::sum);
            return chosen;
        } finally {
            lock.unlock();
        }
    }

    private void count(String node) {
        lock.lock();
        try {
            placedSinceHeartbeat.merge(node, 1, Integer::sum);
        } finally {
            lock.unlock();
        }
    }
}
