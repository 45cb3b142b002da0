package io.tapline.wedge.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.SimpleChannelInboundHandler;
import io.tapline.nbd.NbdFlags;
import io.tapline.wedge.nbd.NbdHandshakeReply;
import io.tapline.wedge.nbd.NbdHandshakeRequest;
import io.tapline.nbd.NbdInfoType;
import io.tapline.nbd.NbdOption;
import io.tapline.nbd.NbdOptionReplyType;
import io.tapline.wedge.nbd.NbdReplyEncoder;
import io.tapline.wedge.nbd.NbdRequestDecoder;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of fixed-newstyle option haggling (proto.md "Fixed newstyle negotiation"):
 * greeting, then NBD_OPT_EXPORT_NAME, GO, INFO, LIST and ABORT; every other option gets
 * NBD_REP_ERR_UNSUP (structured replies, meta contexts, TLS and extended headers are not
 * offered). GO and EXPORT_NAME switch the pipeline to transmission for the export the
 * {@link ExportTable} names; LIST lists every export in it. A standby export negotiates like
 * any other.
 *
 * <p>One instance per connection, on its event loop.
 */
final class NbdNegotiationHandler extends SimpleChannelInboundHandler<NbdHandshakeRequest> {
    private static final Logger log = LoggerFactory.getLogger(NbdNegotiationHandler.class);
    static final String OPTION_DECODER = "nbd-option-decoder";
    static final String HANDSHAKE_ENCODER = "nbd-handshake-encoder";
    static final String HANDSHAKE_TIMEOUT = "nbd-handshake-timeout";

    private final ExportTable exports;
    private String conn = "?";
    /** The name the client asked for last, for log context ("-" before any). */
    private String requested = "-";
    private boolean noZeroes;
    /** Whether this connection's first unknown export was logged: later ones go to DEBUG. */
    private boolean unknownLogged;

    NbdNegotiationHandler(ExportTable exports) {
        this.exports = exports;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        conn = String.valueOf(ctx.channel().remoteAddress());
        log.debug("handshake start conn={}", conn);
        ctx.writeAndFlush(new NbdHandshakeReply.Greeting(NbdFlags.FLAG_FIXED_NEWSTYLE | NbdFlags.FLAG_NO_ZEROES));
        ctx.fireChannelActive();
    }

    /** A client that closed its side while negotiating: its replies so far are flushed, then the connection closes. */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
            log.debug("client closed its side during the handshake conn={}", conn);
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(io.netty.channel.ChannelFutureListener.CLOSE);
        } else {
            super.userEventTriggered(ctx, evt);
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, NbdHandshakeRequest msg) {
        if (msg instanceof NbdHandshakeRequest.ClientFlags flags) {
            noZeroes = flags.noZeroes();
            return;
        }
        if (msg instanceof NbdHandshakeRequest.TooBig big) {
            ctx.writeAndFlush(new NbdHandshakeReply.OptionReply(big.option(), NbdOptionReplyType.ERR_TOO_BIG,
                    ("option data of " + big.lengthBytes() + " bytes is too large (expected: <= "
                            + io.tapline.wedge.nbd.NbdOptionDecoder.MAX_OPTION_BYTES + ")")
                            .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            return;
        }
        NbdHandshakeRequest.Option opt = (NbdHandshakeRequest.Option) msg;
        NbdOption known = opt.known();
        if (known == null) {
            reply(ctx, opt, NbdOptionReplyType.ERR_UNSUP, "option " + opt.option() + " is not supported");
            return;
        }
        switch (known) {
            case EXPORT_NAME -> exportName(ctx, opt);
            case ABORT -> ctx.writeAndFlush(new NbdHandshakeReply.OptionReply(opt.option(), NbdOptionReplyType.ACK,
                    null)).addListener(ChannelFutureListener.CLOSE);
            case LIST -> list(ctx, opt);
            case INFO, GO -> infoOrGo(ctx, opt, known == NbdOption.GO);
            default -> reply(ctx, opt, NbdOptionReplyType.ERR_UNSUP, known + " is not supported");
        }
    }

    private void exportName(ChannelHandlerContext ctx, NbdHandshakeRequest.Option opt) {
        requested = new String(opt.data(), StandardCharsets.UTF_8);
        Export export = exports.lookup(requested);
        if (export == null) {
            // proto.md: the server cannot return an error to EXPORT_NAME; it must close.
            log.warn("unknown export requested, closing conn={} export={} exports={}", conn, shown(requested),
                    exports.names());
            ctx.close();
            return;
        }
        ctx.write(new NbdHandshakeReply.ExportNameReply(export.sizeBytes, Export.TRANSMISSION_FLAGS, noZeroes));
        enterTransmission(ctx, export);
    }

    private void list(ChannelHandlerContext ctx, NbdHandshakeRequest.Option opt) {
        if (opt.data().length != 0) {
            reply(ctx, opt, NbdOptionReplyType.ERR_INVALID, "NBD_OPT_LIST carries no data");
            return;
        }
        for (String exportName : exports.names()) {
            byte[] name = exportName.getBytes(StandardCharsets.UTF_8);
            ByteBuf data = Unpooled.buffer(4 + name.length).writeInt(name.length).writeBytes(name);
            ctx.write(new NbdHandshakeReply.OptionReply(opt.option(), NbdOptionReplyType.SERVER, data.array()));
        }
        ctx.writeAndFlush(new NbdHandshakeReply.OptionReply(opt.option(), NbdOptionReplyType.ACK, null));
    }

    private void infoOrGo(ChannelHandlerContext ctx, NbdHandshakeRequest.Option opt, boolean go) {
        ByteBuf data = Unpooled.wrappedBuffer(opt.data());
        if (data.readableBytes() < 6) {
            reply(ctx, opt, NbdOptionReplyType.ERR_INVALID, "option data too short");
            return;
        }
        long nameLength = data.readUnsignedInt();
        if (nameLength > data.readableBytes() - 2) {
            reply(ctx, opt, NbdOptionReplyType.ERR_INVALID, "name length " + nameLength + " exceeds option data");
            return;
        }
        requested = data.readCharSequence((int) nameLength, StandardCharsets.UTF_8).toString();
        int requests = data.readUnsignedShort();
        if (data.readableBytes() != requests * 2) {
            reply(ctx, opt, NbdOptionReplyType.ERR_INVALID, "information request count " + requests
                    + " does not match option length");
            return;
        }
        Export export = exports.lookup(requested);
        if (export == null) {
            // Once per connection at INFO: a client may ask for unknown names for the whole handshake timeout,
            // each up to 4 KiB (probe U D2: one connection wrote 472 MiB of log in 5 s).
            if (!unknownLogged) {
                unknownLogged = true;
                log.info("unknown export requested conn={} export={} exports={} (further unknown names of this"
                        + " connection at DEBUG)", conn, shown(requested), exports.names());
            } else {
                log.debug("unknown export requested conn={} export={}", conn, shown(requested));
            }
            reply(ctx, opt, NbdOptionReplyType.ERR_UNKNOWN, "unknown export: " + shown(requested));
            return;
        }
        ByteBuf info = Unpooled.buffer(12).writeShort(NbdInfoType.EXPORT.wireValue()).writeLong(export.sizeBytes)
                .writeShort(Export.TRANSMISSION_FLAGS);
        ctx.write(new NbdHandshakeReply.OptionReply(opt.option(), NbdOptionReplyType.INFO, info.array()));
        // Sent whether or not the client asked: proto.md allows it and it tells the 32 MiB limit.
        ByteBuf sizes = Unpooled.buffer(14).writeShort(NbdInfoType.BLOCK_SIZE.wireValue())
                .writeInt(Export.MIN_BLOCK_BYTES).writeInt(Export.PREFERRED_BLOCK_BYTES).writeInt(Export.MAX_BLOCK_BYTES);
        ctx.write(new NbdHandshakeReply.OptionReply(opt.option(), NbdOptionReplyType.INFO, sizes.array()));
        ctx.write(new NbdHandshakeReply.OptionReply(opt.option(), NbdOptionReplyType.ACK, null));
        if (go) {
            enterTransmission(ctx, export);
        } else {
            ctx.flush();
        }
    }

    private void enterTransmission(ChannelHandlerContext ctx, Export export) {
        ctx.flush();
        ChannelPipeline p = ctx.pipeline();
        p.addAfter(OPTION_DECODER, "nbd-request-decoder", new NbdRequestDecoder(export.validator, export.payloads));
        p.addBefore(HANDSHAKE_ENCODER, "nbd-reply-encoder", new NbdReplyEncoder());
        p.replace(this, "nbd-transmission", new NbdTransmissionHandler(export, conn));
        p.remove(HANDSHAKE_ENCODER);
        p.remove(HANDSHAKE_TIMEOUT); // transmission may idle: a host's disk is not busy all the time
        // Last: the option decoder passes any bytes already received to the request decoder.
        p.remove(OPTION_DECODER);
        log.debug("transmission start conn={} export={}", conn, export.name);
    }

    private void reply(ChannelHandlerContext ctx, NbdHandshakeRequest.Option opt, NbdOptionReplyType type,
            String message) {
        ctx.writeAndFlush(new NbdHandshakeReply.OptionReply(opt.option(), type,
                message.getBytes(StandardCharsets.UTF_8)));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ConnectionErrors.closeOnError(log, ctx, conn, shown(requested), "handshake", cause);
    }

    /** Longest part of a client's export name quoted in a log line or an error reply. */
    static final int SHOWN_NAME_CHARS = 128;

    /**
     * {@code name} as a log line or reply may quote it: one line ({@link io.tapline.log.PrintableText}),
     * at most {@link #SHOWN_NAME_CHARS} of it, with its full length after a cut.
     */
    static String shown(String name) {
        return io.tapline.log.PrintableText.of(name, SHOWN_NAME_CHARS);
    }
}
