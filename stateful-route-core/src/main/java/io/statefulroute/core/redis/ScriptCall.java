package io.statefulroute.core.redis;

import java.util.concurrent.CompletableFuture;

import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.CommandOutput;
import io.lettuce.core.output.IntegerOutput;
import io.lettuce.core.output.NestedMultiOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;

/**
 * {@code EVALSHA} of one of our scripts that, when Redis has lost the script ({@code NOSCRIPT}:
 * restarted, flushed, failed over to a replica that never saw it), sends the source instead
 * and completes with that reply. The fallback lives in the command itself, so the usual path
 * costs no future stage of its own: this runs on every new user. Its expiry (the command
 * timeout) covers both attempts, and a NOSCRIPT that comes back after the command timeout is not
 * answered with the source (the command fails as timed out): the caller gave up, so the write
 * must not happen behind its back (a pod's write also carries a fence that Redis would refuse
 * by then).
 */
final class ScriptCall<T> extends AsyncCommand<String, String, T> {

    private final LuaScript script;

    private final ScriptOutputType type;

    private final String[] keys;

    private final String[] args;

    private final Sender bySource;

    /** The command timeout after the call was made, on System.nanoTime(): no source is sent later. */
    private final long deadlineNanos;

    /** How the caller sends a command: the script's source goes the same way. */
    interface Sender {

        <R> CompletableFuture<R> send(AsyncCommand<String, String, R> command);
    }

    ScriptCall(LuaScript script, ScriptOutputType type, String[] keys, String[] args, long timeoutNanos,
            Sender bySource) {
        super(new Command<>(CommandType.EVALSHA, output(type), scriptArgs(script.sha(), keys, args)));
        this.deadlineNanos = System.nanoTime() + timeoutNanos;
        this.script = script;
        this.type = type;
        this.keys = keys;
        this.args = args;
        this.bySource = bySource;
    }

    /** The reply is in: on NOSCRIPT, stays open for the source's reply instead of failing. */
    @Override
    public void complete() {
        CommandOutput<String, String, T> output = getOutput();
        if (output == null || !output.hasError() || !output.getError().startsWith("NOSCRIPT") || isDone()) {
            super.complete();
            return;
        }
        if (System.nanoTime() - this.deadlineNanos >= 0) {
            completeExceptionally(new RedisCommandTimeoutException(
                    "NOSCRIPT came back after the command timeout: the script is not sent again"));
            return;
        }
        AsyncCommand<String, String, T> source = new AsyncCommand<>(new Command<>(CommandType.EVAL, output(this.type),
                scriptArgs(this.script.source(), this.keys, this.args)));
        this.bySource.send(source).whenComplete((value, ex) -> {
            if (ex != null) {
                completeExceptionally(ex);
            }
            else {
                complete(value);
            }
        });
    }

    private static CommandArgs<String, String> scriptArgs(String shaOrSource, String[] keys, String[] args) {
        CommandArgs<String, String> scriptArgs = new CommandArgs<>(StringCodec.UTF8).add(shaOrSource).add(keys.length)
            .addKeys(keys);
        for (String arg : args) {
            scriptArgs.addValue(arg);
        }
        return scriptArgs;
    }

    @SuppressWarnings("unchecked")
    private static <T> CommandOutput<String, String, T> output(ScriptOutputType type) {
        return switch (type) {
            case INTEGER -> (CommandOutput<String, String, T>) new IntegerOutput<>(StringCodec.UTF8);
            case MULTI -> (CommandOutput<String, String, T>) new NestedMultiOutput<>(StringCodec.UTF8);
            default -> throw new IllegalArgumentException("No script of ours returns " + type);
        };
    }
}
