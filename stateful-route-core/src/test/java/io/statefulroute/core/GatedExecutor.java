package io.statefulroute.core;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.statefulroute.core.redis.StatefulExecutor;
import io.statefulroute.core.redis.WriteFence;

/**
 * A {@link StatefulExecutor} that passes every call to a real one, except the calls a test
 * holds: the next fenced call of a method either waits before it is sent (a pause between the
 * pod's lease check and the write, as a GC pause or a frozen VM would make) or has its reply
 * held back after Redis answered (a write that lands in time and is heard of late).
 */
public final class GatedExecutor implements InvocationHandler {

    private final StatefulExecutor real;

    private final StatefulExecutor proxy;

    private final Map<String, Gate> beforeSend = new ConcurrentHashMap<>();

    private final Map<String, Gate> beforeReply = new ConcurrentHashMap<>();

    private final Map<String, Gate> beforeAnyReply = new ConcurrentHashMap<>();

    private final Map<String, Integer> calls = new ConcurrentHashMap<>();

    private GatedExecutor(StatefulExecutor real) {
        this.real = real;
        this.proxy = (StatefulExecutor) Proxy.newProxyInstance(StatefulExecutor.class.getClassLoader(),
                new Class<?>[] { StatefulExecutor.class }, this);
    }

    public static GatedExecutor around(StatefulExecutor real) {
        return new GatedExecutor(real);
    }

    /** What the code under test is given. */
    public StatefulExecutor executor() {
        return this.proxy;
    }

    /** The next fenced call of {@code method} waits, on its caller's thread, before it is sent. */
    public Gate holdNextSend(String method) {
        Gate gate = new Gate();
        this.beforeSend.put(method, gate);
        return gate;
    }

    /** The next fenced call of {@code method} is sent at once, its reply handed on only once released. */
    public Gate holdNextReply(String method) {
        Gate gate = new Gate();
        this.beforeReply.put(method, gate);
        return gate;
    }

    /** The next call of {@code method}, fenced or not, is sent at once, its reply handed on only once released. */
    public Gate holdNextReplyOfAnyCall(String method) {
        Gate gate = new Gate();
        this.beforeAnyReply.put(method, gate);
        return gate;
    }

    /** How many calls of {@code method} the code under test made so far. */
    public int calls(String method) {
        return this.calls.getOrDefault(method, 0);
    }

    @Override
    public Object invoke(Object self, Method method, Object[] args) throws Throwable {
        this.calls.merge(method.getName(), 1, Integer::sum);
        boolean fenced = args != null && args.length > 0 && args[args.length - 1] instanceof WriteFence;
        Gate send = fenced ? this.beforeSend.remove(method.getName()) : null;
        if (send != null) {
            send.arrive();
            send.awaitRelease();
        }
        Gate fencedReply = fenced ? this.beforeReply.remove(method.getName()) : null;
        Gate reply = (fencedReply != null) ? fencedReply : this.beforeAnyReply.remove(method.getName());
        Object result;
        try {
            result = method.invoke(this.real, args);
        }
        catch (InvocationTargetException ex) {
            throw ex.getCause();
        }
        if (reply == null) {
            return result;
        }
        // the reply waits for the release without blocking the client's I/O thread
        CompletableFuture<?> answered = (CompletableFuture<?>) result;
        answered.whenComplete((value, ex) -> reply.arrive());
        return answered.handle((value, ex) -> answered).thenCombine(reply.released, (done, released) -> done)
            .thenCompose((done) -> done);
    }

    /** Where a held call waits: the test learns it arrived, and lets it go on. */
    public static final class Gate {

        private final CountDownLatch arrived = new CountDownLatch(1);

        private final CompletableFuture<Void> released = new CompletableFuture<>();

        void arrive() {
            this.arrived.countDown();
        }

        void awaitRelease() {
            this.released.orTimeout(60, TimeUnit.SECONDS).join();
        }

        /** Waits until the held call reached the gate. */
        public void awaitArrival(Duration atMost) throws InterruptedException {
            if (!this.arrived.await(atMost.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("No call reached the gate within " + atMost);
            }
        }

        public void release() {
            this.released.complete(null);
        }
    }
}
