package dev.andromeda.gateway.web;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import org.springframework.boot.reactor.netty.NettyServerCustomizer;
import reactor.netty.NettyPipeline;
import reactor.netty.http.server.HttpServer;

/**
 * Problems for what never reaches Spring: a request whose line or headers are too large, or
 * that the HTTP decoder cannot read, or whose target Spring could not parse as a URI (a raw
 * backslash, a space, a control character) would otherwise get an empty 400/413/431 from the
 * server. This handler sits right after the HTTP codec, answers such requests with an
 * application/problem+json document, and closes the connection.
 */
public class EdgeProblems implements NettyServerCustomizer {

    @Override
    public HttpServer apply(HttpServer server) {
        return server.doOnChannelInit((observer, channel, address) -> {
            if (channel.pipeline().get(NettyPipeline.HttpCodec) != null && channel.pipeline().get("m31.edgeProblems") == null) {
                channel.pipeline().addAfter(NettyPipeline.HttpCodec, "m31.edgeProblems", new Handler());
            }
        });
    }

    static final class Handler extends ChannelInboundHandlerAdapter {
        private boolean refusing;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest req) {
                String why = null;
                int status = 400;
                DecoderResult dr = req.decoderResult();
                if (dr.isFailure()) {
                    Throwable cause = dr.cause();
                    if (cause instanceof TooLongHttpHeaderException) {
                        status = 431;
                        why = "the request headers are too large";
                    } else if (cause instanceof TooLongHttpLineException) {
                        status = 414;
                        why = "the request line is too long";
                    } else if (cause instanceof TooLongFrameException) {
                        status = 431;
                        why = "the request head is too large";
                    } else {
                        why = "the request is not valid HTTP";
                    }
                } else {
                    why = badTarget(req.uri());
                }
                if (why != null) {
                    refusing = true;
                    ReferenceCountUtil.release(msg);
                    refuse(ctx, status, why);
                    return;
                }
                refusing = false;
            } else if (refusing && msg instanceof HttpContent) {
                ReferenceCountUtil.release(msg);
                return;
            }
            ctx.fireChannelRead(msg);
        }

        static String badTarget(String uri) {
            if (uri == null) return "the request has no target";
            for (int i = 0; i < uri.length(); i++) {
                char c = uri.charAt(i);
                if (c == '\\') return "backslashes are not allowed in paths";
                if (c <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '^' || c == '`' || c == '{' || c == '|' || c == '}') {
                    return "the request target has characters that must be percent-encoded";
                }
            }
            return null;
        }

        private static void refuse(ChannelHandlerContext ctx, int status, String detail) {
            HttpResponseStatus s = HttpResponseStatus.valueOf(status);
            String type = status == 431 || status == 414 ? "too-large" : "bad-request";
            String json = "{\"type\":\"/problems/" + type + "\",\"title\":\"" + s.reasonPhrase() + "\",\"status\":" + status
                    + ",\"detail\":\"" + detail.replace("\"", "'") + "\"}";
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, s, Unpooled.wrappedBuffer(body));
            resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/problem+json");
            resp.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
            resp.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
            resp.headers().set(HttpHeaderNames.CONNECTION, "close");
            ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
