package dev.andromeda.channel.kafka;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * The Kafka side of channels: one Admin, one idempotent producer (acks=all), the shared topic
 * for unnamed channels, and a topic per named channel. Consumers live in {@code flow/Dispatcher}.
 */
@Component
public class KafkaPlumbing implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(KafkaPlumbing.class);
    /** Room for a 1 MB message plus its envelope and headers. */
    public static final int MAX_RECORD_BYTES = 2 * 1024 * 1024;
    static final String NAMED_PREFIX = "m31.ch.";

    private final String bootstrap;
    private final String sharedTopic;
    private final Admin admin;
    private final KafkaProducer<String, byte[]> producer;
    private final int sharedPartitions;
    /** Runs the producer's flushes, so that no send waits for records that are not its own (see sendNow). */
    private final Thread flusher;
    private final AtomicBoolean flushAsked = new AtomicBoolean();
    private volatile boolean closing;

    public KafkaPlumbing(@Value("${m31.kafka.bootstrap}") String bootstrap,
                         @Value("${m31.channel.shared-topic:m31.channels}") String sharedTopic,
                         @Value("${m31.channel.shared-partitions:8}") int partitions) {
        this.bootstrap = bootstrap;
        this.sharedTopic = sharedTopic;
        this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
        this.sharedPartitions = ensureTopic(sharedTopic, partitions);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        // a send's records are appended, then flushed (see ChannelService.produce): with linger 0 the
        // sender thread sent whatever it found appended each time it woke, ~400 records a request
        // for a batch of 1,000 — each request a wake-up, a purgatory entry and an answer on the
        // broker. The linger is only a ceiling; nothing waits for it
        p.put(ProducerConfig.LINGER_MS_CONFIG, 100);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, MAX_RECORD_BYTES + 64 * 1024);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_100); // at least linger + request timeout
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "m31-channel-producer");
        this.producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        this.flusher = Thread.ofPlatform().daemon().name("m31-channel-flusher").start(this::flushWhenAsked);
    }

    /**
     * Sends what the producer holds now, without waiting for it: the caller waits for its own
     * records' acknowledgements only. KafkaProducer's only way to send at once is flush(), which
     * also waits for every record appended before it — other channels', on other partitions and
     * brokers. A send that called it itself would wait for a partition without a leader (a broker
     * failing over) even when its own records were long acknowledged; so flush() runs on a thread
     * of its own, and while one is held up, the flush it began keeps every new batch ready at
     * once (the producer sends as it would with linger 0), so nothing else waits for it either.
     */
    public void sendNow() {
        // a request already pending is served by a flush that begins after it was seen: that one
        // covers records appended before this call too
        if (flushAsked.compareAndSet(false, true)) LockSupport.unpark(flusher);
    }

    private void flushWhenAsked() {
        while (!closing) {
            if (!flushAsked.getAndSet(false)) {
                LockSupport.park(this);
                continue;
            }
            try {
                producer.flush();
            } catch (org.apache.kafka.common.errors.InterruptException e) {
                if (closing) return;
            } catch (RuntimeException e) {
                // the records' own futures carry their failures to their senders
                log.debug("flush: {}", e.toString());
            }
        }
    }

    public String bootstrap() { return bootstrap; }
    public String sharedTopic() { return sharedTopic; }
    public int sharedPartitions() { return sharedPartitions; }
    public KafkaProducer<String, byte[]> producer() { return producer; }

    /** The shared-topic partition of an unnamed channel: stable for the life of the topic. */
    public int partitionOf(String channelId) {
        return Math.floorMod(channelId.hashCode(), sharedPartitions);
    }

    public static String namedTopic(String name) {
        return NAMED_PREFIX + name;
    }

    /** The partition's end (the offset the next record will get), as the broker says now. */
    public long endOffset(org.apache.kafka.common.TopicPartition tp) {
        try {
            return admin.listOffsets(Map.of(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()))
                    .partitionResult(tp).get(30, TimeUnit.SECONDS).offset();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted asking the end of " + tp, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot ask the end of " + tp + ": " + e.getMessage(), e);
        }
    }

    /** Creates the topic if missing (an existing one is kept) and answers its partition count. */
    public int ensureTopic(String topic, int partitions) {
        NewTopic t = new NewTopic(topic, Optional.of(partitions), Optional.empty())
                .configs(Map.of("max.message.bytes", Integer.toString(MAX_RECORD_BYTES),
                        // undelivered messages must not age out; trimming delivered ones is a later issue
                        "retention.ms", "-1"));
        try {
            admin.createTopics(List.of(t)).all().get(30, TimeUnit.SECONDS);
            log.info("created topic {} ({} partitions)", topic, partitions);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) throw new IllegalStateException("cannot create topic " + topic, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted creating topic " + topic, e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("Kafka did not create topic " + topic + " within 30 s", e);
        }
        // a topic just created may not be in the metadata the admin client asks yet: it is asked again
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        try {
            while (true) {
                try {
                    TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
                    return d.partitions().size();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof org.apache.kafka.common.errors.RetriableException) || System.nanoTime() > deadline) throw e;
                    Thread.sleep(50);
                }
            }
        } catch (Exception e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            throw new IllegalStateException("cannot describe topic " + topic, e);
        }
    }

    @Override
    public void destroy() {
        closing = true;
        flusher.interrupt();
        producer.close(Duration.ofSeconds(5));
        admin.close(Duration.ofSeconds(5));
    }
}
