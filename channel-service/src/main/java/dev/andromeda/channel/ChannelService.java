package dev.andromeda.channel;

import dev.andromeda.api.model.Channel;
import dev.andromeda.api.model.ChannelSpec;
import dev.andromeda.api.model.Message;
import dev.andromeda.api.model.MessageBatch;
import dev.andromeda.api.model.SendResult;
import dev.andromeda.common.id.Ids;
import dev.andromeda.common.problem.M31Problem;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Channel semantics over {@link ChannelStore} (sequence, cursor, idempotency) and Kafka (the
 * messages). Sends of one channel are serialized by its row lock, held until Kafka acknowledged
 * the record, so seq order is the record order in the partition.
 *
 * <p>Deepening ahead (a later issue): sync mode (rendezvous: the send answers when a receiver
 * took the message — a waiter on the cursor here), capacity as back-pressure on async senders,
 * cloned endpoints and capabilities, exactly-once across broker restarts (Kafka transactions
 * bracketing the DB commit; the envelope already carries seq and the idempotency key).
 */
@Service
public class ChannelService {

    private static final Logger log = LoggerFactory.getLogger(ChannelService.class);
    public static final int MAX_MESSAGE_BYTES = 1024 * 1024;

    private final ChannelStore store;
    private final KafkaPlumbing kafka;
    private final Dispatcher dispatcher;
    private final ChannelTypes types;
    private final JsonMapper json;
    private final TransactionTemplate tx;

    public ChannelService(ChannelStore store, KafkaPlumbing kafka, Dispatcher dispatcher, ChannelTypes types,
                          JsonMapper json, TransactionTemplate tx) {
        this.store = store;
        this.kafka = kafka;
        this.dispatcher = dispatcher;
        this.types = types;
        this.json = json;
        this.tx = tx;
    }

    public Channel create(ChannelSpec spec) {
        JsonNode type = types.normalize(spec.getType() == null ? null : json.valueToTree(spec.getType()));
        String mode = spec.getMode() == null ? "async" : spec.getMode().getValue();
        String id = Ids.newId(Ids.CHANNEL);
        String name = spec.getName();
        if (name == null) {
            ChannelStore.Row row = store.insert(id, type, mode, spec.getCapacity(), null, kafka.sharedTopic(), kafka.partitionOf(id));
            return view(row);
        }
        String topic = KafkaPlumbing.namedTopic(name);
        ChannelStore.Row row;
        try {
            // the row and the topic together: a topic that cannot be made leaves no channel behind
            row = tx.execute(s -> {
                ChannelStore.Row r = store.insert(id, type, mode, spec.getCapacity(), name, topic, 0);
                kafka.ensureTopic(topic, 1);
                return r;
            });
        } catch (DuplicateKeyException taken) {
            throw M31Problem.conflict("a channel named '" + name + "' exists");
        } catch (IllegalStateException kafkaDown) {
            throw M31Problem.unavailable("cannot create topic " + topic + ": " + kafkaDown.getMessage());
        }
        dispatcher.track(new TopicPartition(topic, 0));
        return view(row);
    }

    public Channel get(String id) {
        return view(row(id));
    }

    public void close(String id) {
        if (!store.close(id)) throw M31Problem.notFound("no channel " + id);
        ChannelQueue q = dispatcher.queue(id);
        if (q != null) q.close();
    }

    public SendResult send(String id, Object body, String idempotencyKey) {
        JsonNode value = json.valueToTree(body);
        byte[] valueBytes = json.writeValueAsBytes(value);
        if (valueBytes.length > MAX_MESSAGE_BYTES) {
            throw M31Problem.tooLarge("body", "a message is at most " + MAX_MESSAGE_BYTES + " bytes (this one is " + valueBytes.length + ")");
        }
        ChannelStore.Row probe = row(id);
        types.check(probe.type(), value); // before anything is recorded or produced
        return tx.execute(s -> {
            ChannelStore.Row ch = store.lock(id).orElseThrow(() -> M31Problem.notFound("no channel " + id));
            if (idempotencyKey != null) {
                var seen = store.idempotentSeq(id, idempotencyKey);
                if (seen.isPresent()) return new SendResult().seq(seen.get()).duplicate(true);
            }
            if (ch.closed()) throw M31Problem.gone("channel " + id + " is closed");
            long seq = ch.sent() + 1;
            long offset = produce(ch, seq, valueBytes, idempotencyKey);
            store.recordSend(ch, seq, idempotencyKey, offset);
            return new SendResult().seq(seq).duplicate(false);
        });
    }

    /** Produces the envelope {seq, value} and waits for the acknowledgement (acks=all). */
    private long produce(ChannelStore.Row ch, long seq, byte[] value, String key) {
        byte[] head = ("{\"seq\":" + seq + ",\"value\":").getBytes(StandardCharsets.UTF_8);
        byte[] envelope = new byte[head.length + value.length + 1];
        System.arraycopy(head, 0, envelope, 0, head.length);
        System.arraycopy(value, 0, envelope, head.length, value.length);
        envelope[envelope.length - 1] = '}';
        ProducerRecord<String, byte[]> rec = new ProducerRecord<>(ch.topic(), ch.partition(), ch.id(), envelope);
        rec.headers().add("m31-seq", Long.toString(seq).getBytes(StandardCharsets.UTF_8));
        rec.headers().add("content-type", "application/json".getBytes(StandardCharsets.UTF_8));
        if (key != null) rec.headers().add("m31-idempotency-key", key.getBytes(StandardCharsets.UTF_8));
        try {
            RecordMetadata md = kafka.producer().send(rec).get(30, TimeUnit.SECONDS);
            return md.offset();
        } catch (ExecutionException e) {
            log.warn("send to {} failed: {}", ch.id(), e.getCause().toString());
            throw M31Problem.unavailable("the channel's broker did not take the message: " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            throw M31Problem.unavailable("the channel's broker did not acknowledge within 30 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw M31Problem.unavailable("interrupted while sending");
        }
    }

    /**
     * Up to {@code max} messages in order; waits up to {@code waitSeconds} for a first one. The
     * cursor moves in PostgreSQL before the messages leave the queue (no connection is held
     * while waiting). {@code closed} is true once the channel is closed and everything sent
     * before the close has been received.
     */
    public MessageBatch receive(String id, int waitSeconds, int max) {
        ChannelStore.Row ch = row(id);
        ChannelQueue q = dispatcher.queue(id);
        if (q == null) throw M31Problem.notFound("no channel " + id);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(waitSeconds);
        q.lock.lock();
        try {
            while (true) {
                List<ChannelQueue.Entry> batch = q.peek(max);
                if (!batch.isEmpty()) {
                    ChannelQueue.Entry last = batch.get(batch.size() - 1);
                    if (!store.advance(id, last.seq(), last.offset() + 1)) {
                        // another instance moved the cursor (not expected while one instance serves a channel)
                        throw M31Problem.conflict("the receive cursor of " + id + " moved elsewhere; receive again");
                    }
                    q.remove(batch.size());
                    MessageBatch out = new MessageBatch();
                    for (ChannelQueue.Entry e : batch) out.addMessagesItem(new Message().seq(e.seq()).value(e.value()));
                    boolean closed = (ch.closed() || q.closed()) && last.seq() >= finalSent(ch, id);
                    if (closed) dispatcher.forget(id);
                    return out.closed(closed);
                }
                if (ch.closed() || q.closed()) {
                    ChannelStore.Row now = row(id);
                    if (now.drained()) {
                        dispatcher.forget(id);
                        return new MessageBatch().closed(true);
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) return new MessageBatch().closed(false);
                q.await(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new MessageBatch().closed(false);
        } finally {
            q.lock.unlock();
        }
    }

    private long finalSent(ChannelStore.Row ch, String id) {
        return ch.closed() ? ch.sent() : row(id).sent();
    }

    private ChannelStore.Row row(String id) {
        return store.find(id).orElseThrow(() -> M31Problem.notFound("no channel " + id));
    }

    private Channel view(ChannelStore.Row r) {
        return new Channel()
                .id(r.id())
                .uri("/ch/" + r.id())
                .type(r.type())
                .mode(r.mode())
                .name(r.name())
                .topic(r.topic())
                .partition(r.partition())
                .closed(r.closed())
                .sent(r.sent())
                .received(r.delivered())
                .created(r.created() == null ? null : r.created().withOffsetSameInstant(ZoneOffset.UTC));
    }
}
