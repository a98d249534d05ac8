package dev.andromeda.engines;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Kafka broker in KRaft combined mode (broker + controller, one node) inside this JVM,
 * from the org.apache.kafka jars. Formats its storage the way kafka-storage.sh does, but
 * in-process, and keeps a fatal broker error from ending the host JVM. More brokers (without a
 * controller) can join it ({@link #addBroker}), for tests of what losing one of several does.
 */
public final class EmbeddedKafkaEngine implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedKafkaEngine.class);

    private final KafkaRaftServer server;
    private final String bootstrap;
    private final Path logDir;
    private final int brokerPort;
    private final int controllerPort;
    private final int nodeId;
    private volatile boolean closed;
    /** Its directory is its own (a temporary one): deleted when it closes, not when it restarts. */
    private boolean throwaway;
    private volatile boolean superseded;

    private EmbeddedKafkaEngine(KafkaRaftServer server, String bootstrap, Path logDir, int brokerPort, int controllerPort, int nodeId) {
        this.server = server;
        this.bootstrap = bootstrap;
        this.logDir = logDir;
        this.brokerPort = brokerPort;
        this.controllerPort = controllerPort;
        this.nodeId = nodeId;
    }

    /** Starts a broker on {@code logDir} (formatted on first use); {@code brokerPort} 0 picks a free one. */
    public static EmbeddedKafkaEngine start(Path logDir, int brokerPort) throws IOException {
        return start(logDir, 1, brokerPort == 0 ? FreePorts.pick() : brokerPort, FreePorts.pick(), Uuid.randomUuid().toString());
    }

    /**
     * Another broker of this one's cluster — node {@code nodeId}, a broker only, on a fresh
     * directory —, started and registered with this node's controller.
     */
    public EmbeddedKafkaEngine addBroker(int nodeId) throws IOException {
        if (nodeId == 1) throw new IllegalArgumentException("node 1 is the controller");
        return start(Files.createTempDirectory("m31-kafka-node" + nodeId + "-"), nodeId, FreePorts.pick(), controllerPort, clusterId())
                .throwaway(true);
    }

    private String clusterId() throws IOException {
        for (String line : Files.readAllLines(logDir.resolve("meta.properties"))) {
            if (line.startsWith("cluster.id=")) return line.substring("cluster.id=".length()).trim();
        }
        throw new IOException("no cluster.id in " + logDir.resolve("meta.properties"));
    }

    /** Restarts on the same directory and ports (what a broker restart in a cluster looks like). */
    public EmbeddedKafkaEngine restart() throws IOException {
        stop();
        superseded = true; // the directory is the new engine's now: closing this one leaves it
        return start(logDir, nodeId, brokerPort, controllerPort, clusterId()).throwaway(throwaway);
    }

    private EmbeddedKafkaEngine throwaway(boolean on) {
        throwaway = on;
        return this;
    }

    /** Node 1 is broker and controller; any other node a broker of node 1's controller. */
    private static EmbeddedKafkaEngine start(Path logDir, int nodeId, int brokerPort, int controllerPort, String clusterId)
            throws IOException {
        boolean controller = nodeId == 1;
        Exit.setExitProcedure((code, msg) -> log.error("Kafka asked to exit({}): {} — refused, the host JVM goes on", code, msg));
        Exit.setHaltProcedure((code, msg) -> log.error("Kafka asked to halt({}): {} — refused, the host JVM goes on", code, msg));
        Files.createDirectories(logDir);
        Properties p = new Properties();
        p.put("process.roles", controller ? "broker,controller" : "broker");
        p.put("node.id", Integer.toString(nodeId));
        p.put("controller.quorum.voters", "1@localhost:" + controllerPort);
        p.put("listeners", "PLAINTEXT://localhost:" + brokerPort + (controller ? ",CONTROLLER://localhost:" + controllerPort : ""));
        p.put("advertised.listeners", "PLAINTEXT://localhost:" + brokerPort);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", logDir.toString());
        p.put("num.partitions", "1");
        // one node: internal topics must not ask for more replicas than exist
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "4");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("auto.create.topics.enable", "false");
        p.put("log.flush.interval.messages", Long.toString(Long.MAX_VALUE));
        KafkaConfig config = new KafkaConfig(p, false);

        if (!Files.exists(logDir.resolve("meta.properties"))) {
            Formatter f = new Formatter()
                    .setNodeId(nodeId)
                    .setClusterId(clusterId)
                    .setControllerListenerName("CONTROLLER")
                    .setMetadataLogDirectory(logDir.toString())
                    .setDirectories(List.of(logDir.toString()))
                    .setPrintStream(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
            try {
                f.run();
            } catch (Exception e) {
                throw new IOException("cannot format Kafka storage in " + logDir, e);
            }
        }
        KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
        server.startup();
        return new EmbeddedKafkaEngine(server, "localhost:" + brokerPort, logDir, brokerPort, controllerPort, nodeId);
    }

    /** A throwaway broker in a fresh temporary directory, for tests. */
    public static EmbeddedKafkaEngine startEphemeral() throws IOException {
        return start(Files.createTempDirectory("m31-kafka-" + UUID.randomUUID()), 0).throwaway(true);
    }

    public String bootstrapServers() { return bootstrap; }

    /** Shuts the broker down and, if its directory was a temporary one, deletes it (a bench leaves ~0.5 GB). */
    @Override
    public void close() {
        stop();
        if (throwaway && !superseded) deleteTree(logDir);
    }

    /** Shuts the broker down and keeps its log: a broker lost, to be brought back with {@link #restart()}. */
    public void stop() {
        if (closed) return;
        closed = true;
        server.shutdown();
        server.awaitShutdown();
    }

    static void deleteTree(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException e) {
                    log.debug("cannot delete {}: {}", f, e.toString());
                }
            });
        } catch (IOException e) {
            log.warn("cannot delete the broker's temporary directory {}: {}", dir, e.toString());
        }
    }

    /** Where its log lives. */
    public Path logDir() { return logDir; }

}
