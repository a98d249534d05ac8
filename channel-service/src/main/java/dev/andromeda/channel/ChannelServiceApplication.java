package dev.andromeda.channel;

import dev.andromeda.common.boot.M31Service;
import dev.andromeda.common.channel.ChannelTypes;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

/** Typed one-way FIFO channels (/ch), carried by Kafka. */
@SpringBootApplication
public class ChannelServiceApplication {

    /** Also the name of its config file ({@code channel-service.yml}): see {@link M31Service}. */
    public static final String NAME = "channel-service";

    public static void main(String[] args) {
        M31Service.run(ChannelServiceApplication.class, NAME, args);
    }

    /** One per service: it keeps the compiled schemas. */
    @Bean
    ChannelTypes channelTypes() {
        return new ChannelTypes();
    }
}
