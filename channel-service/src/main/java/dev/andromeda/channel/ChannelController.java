package dev.andromeda.channel;

import dev.andromeda.api.ChannelsApi;
import dev.andromeda.api.model.Channel;
import dev.andromeda.api.model.ChannelSpec;
import dev.andromeda.api.model.MessageBatch;
import dev.andromeda.api.model.SendResult;
import dev.andromeda.common.id.Ids;
import java.net.URI;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RestController;

/** /ch: typed one-way FIFO channels carried by Kafka. */
@RestController
public class ChannelController implements ChannelsApi {

    private final ChannelService channels;

    public ChannelController(ChannelService channels) {
        this.channels = channels;
    }

    @Override
    public ResponseEntity<Channel> createChannel(ChannelSpec spec) {
        Channel c = channels.create(spec);
        return ResponseEntity.created(URI.create(c.getUri())).body(c);
    }

    @Override
    public ResponseEntity<Channel> getChannel(String id) {
        return ResponseEntity.ok(channels.get(Ids.require(id, Ids.CHANNEL, "id")));
    }

    @Override
    public ResponseEntity<Void> closeChannel(String id) {
        channels.close(Ids.require(id, Ids.CHANNEL, "id"));
        return ResponseEntity.noContent().build();
    }

    @Override
    public ResponseEntity<SendResult> sendMessage(String id, Object body, String idempotencyKey) {
        Ids.require(id, Ids.CHANNEL, "id");
        return ResponseEntity.status(HttpStatus.ACCEPTED).body(channels.send(id, body, idempotencyKey));
    }

    @Override
    public ResponseEntity<MessageBatch> receiveMessages(String id, Integer wait, Integer max) {
        Ids.require(id, Ids.CHANNEL, "id");
        return ResponseEntity.ok(channels.receive(id, wait == null ? 0 : wait, max == null ? 100 : max));
    }
}
