package dev.andromeda.engines;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class EnginesTest {

    /**
     * Ports named before their servers start are never in the range outgoing connections take
     * their local ports from (where a starting client once took a service's port first), are free
     * when handed out, and are not handed out twice.
     */
    @Test
    void portsPickedAheadAreOutsideTheEphemeralRangeFreeAndDistinct() throws Exception {
        int[] eph = FreePorts.ephemeralRange();
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int i = 0; i < 200; i++) {
            int port = FreePorts.pick();
            assertThat(port).isBetween(1024, 65535);
            assertThat(port < eph[0] || port > eph[1]).as("port %d inside the ephemeral range %d-%d", port, eph[0], eph[1]).isTrue();
            assertThat(seen.add(port)).as("port %d handed out twice", port).isTrue();
        }
        int port = FreePorts.pick();
        try (java.net.ServerSocket s = new java.net.ServerSocket(port)) {
            assertThat(s.getLocalPort()).isEqualTo(port);
            // taken now: never handed out, by this JVM or because it is no longer free
            for (int i = 0; i < 200; i++) assertThat(FreePorts.pick()).isNotEqualTo(port);
        }
        // an outgoing connection's local port is in the ephemeral range, as the picks avoid
        try (java.net.ServerSocket server = new java.net.ServerSocket(0);
             java.net.Socket client = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), server.getLocalPort())) {
            assertThat(client.getLocalPort()).isBetween(eph[0], eph[1]);
        }
    }

    @Test
    void postgresAnswersAndHasTheM31Database() throws Exception {
        try (EmbeddedPostgresEngine pg = EmbeddedPostgresEngine.startEphemeral();
             Connection c = DriverManager.getConnection(pg.jdbcUrl(), pg.user(), pg.password());
             ResultSet rs = c.createStatement().executeQuery("select current_database(), current_setting('server_version_num')::int")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("m31");
            assertThat(rs.getInt(2)).isGreaterThanOrEqualTo(170000);
        }
    }

    @Test
    void kafkaBrokerCarriesRecordsInOrderAndAThrowawayOneLeavesNothingBehind() throws Exception {
        java.nio.file.Path dir;
        try (EmbeddedKafkaEngine kafka = EmbeddedKafkaEngine.startEphemeral()) {
            dir = kafka.logDir();
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
                admin.createTopics(List.of(new NewTopic("t", 1, (short) 1))).all().get();
            }
            Properties pp = new Properties();
            pp.put("bootstrap.servers", kafka.bootstrapServers());
            try (var producer = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
                for (int i = 0; i < 100; i++) producer.send(new ProducerRecord<>("t", "k", "v" + i));
                producer.flush();
            }
            Properties cp = new Properties();
            cp.put("bootstrap.servers", kafka.bootstrapServers());
            cp.put("group.id", "g");
            cp.put("auto.offset.reset", "earliest");
            try (var consumer = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
                consumer.subscribe(List.of("t"));
                List<String> seen = new java.util.ArrayList<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (seen.size() < 100 && System.nanoTime() < deadline) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) seen.add(r.value());
                }
                assertThat(seen).hasSize(100);
                for (int i = 0; i < 100; i++) assertThat(seen.get(i)).isEqualTo("v" + i);
            }
            // while it runs, its log is there
            assertThat(dir.resolve("t-0")).isDirectory();
        }
        // closed, its temporary directory is gone: every test and bench run used to leave one behind
        assertThat(dir).doesNotExist();
    }
}
