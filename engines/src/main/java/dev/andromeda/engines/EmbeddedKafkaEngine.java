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
 * in-process, and keeps a fatal broker error from ending the host JVM.
 */
public final class EmbeddedKafkaEngine implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedKafkaEngine.class);

    private final KafkaRaftServer server;
    private final String bootstrap;
    private final Path logDir;
    private final int brokerPort;
    private final int controllerPort;

    private EmbeddedKafkaEngine(KafkaRaftServer server, String bootstrap, Path logDir, int brokerPort, int controllerPort) {
        this.server = server;
        this.bootstrap = bootstrap;
        this.logDir = logDir;
        this.brokerPort = brokerPort;
        this.controllerPort = controllerPort;
    }

    /** Starts a broker on {@code logDir} (formatted on first use); {@code brokerPort} 0 picks a free one. */
    public static EmbeddedKafkaEngine start(Path logDir, int brokerPort) throws IOException {
        return start(logDir, brokerPort == 0 ? FreePorts.pick() : brokerPort, FreePorts.pick());
    }

    /** Restarts on the same directory and ports (what a broker restart in a cluster looks like). */
    public EmbeddedKafkaEngine restart() throws IOException {
        close();
        return start(logDir, brokerPort, controllerPort);
    }

    private static EmbeddedKafkaEngine start(Path logDir, int brokerPort, int controllerPort) throws IOException {
        Exit.setExitProcedure((code, msg) -> log.error("Kafka asked to exit({}): {} — refused, the host JVM goes on", code, msg));
        Exit.setHaltProcedure((code, msg) -> log.error("Kafka asked to halt({}): {} — refused, the host JVM goes on", code, msg));
        Files.createDirectories(logDir);
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@localhost:" + controllerPort);
        p.put("listeners", "PLAINTEXT://localhost:" + brokerPort + ",CONTROLLER://localhost:" + controllerPort);
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
                    .setNodeId(1)
                    .setClusterId(Uuid.randomUuid().toString())
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
        return new EmbeddedKafkaEngine(server, "localhost:" + brokerPort, logDir, brokerPort, controllerPort);
    }

    /** A throwaway broker in a fresh temporary directory, for tests. */
    public static EmbeddedKafkaEngine startEphemeral() throws IOException {
        return start(Files.createTempDirectory("m31-kafka-" + UUID.randomUUID()), 0);
    }

    public String bootstrapServers() { return bootstrap; }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }

}
