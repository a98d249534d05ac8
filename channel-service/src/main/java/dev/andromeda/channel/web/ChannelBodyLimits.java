package dev.andromeda.channel.web;

import dev.andromeda.channel.flow.ChannelService;
import dev.andromeda.common.web.BodyLimits;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.stereotype.Component;

/**
 * A message is at most {@link ChannelService#MAX_MESSAGE_BYTES} once parsed; its body may carry
 * a little whitespace more. An NDJSON batch is at most {@link ChannelService#MAX_BATCH_BYTES}.
 * A body without a declared length is measured again after parsing.
 */
@Component
class ChannelBodyLimits implements BodyLimits {

    @Override
    public long limitFor(HttpServletRequest req) {
        String ct = req.getContentType();
        if (ct != null && ct.startsWith(ChannelController.NDJSON)) return ChannelService.MAX_BATCH_BYTES;
        return ChannelService.MAX_MESSAGE_BYTES + 64 * 1024;
    }
}
