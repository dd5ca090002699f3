export const id = 110;
export const ids = [110,265];
export const modules = {

/***/ 3729:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   postWebhook: () => (/* binding */ postWebhook)
/* harmony export */ });
/* harmony import */ var node_timers_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(8500);
/* harmony import */ var node_timers_promises__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_timers_promises__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _util_errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(17);
/* harmony import */ var _util_proxy_fetch_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(3265);
/* harmony import */ var _github_client_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(4332);
/**
 * POSTs `{"text": …}` to a Slack-compatible incoming webhook, through the environment's proxy. The URL is
 * a secret: it is never in errors. A post is repeated only when its failure proves it was not delivered
 * (429, connection refused, unknown host): after a 5xx or a reset it may have been, and on-call would
 * read the alert twice.
 */




const LABEL = 'POST webhook-url';
async function postWebhook(url, payload, o = {}) {
    const doFetch = o.fetch ?? (0,_util_proxy_fetch_js__WEBPACK_IMPORTED_MODULE_2__.proxyAwareFetch)(15_000);
    const attempts = o.attempts ?? 4;
    const scale = o.waitScale ?? 1;
    for (let attempt = 1;; attempt++) {
        let err;
        let waitMs = 500 * 2 ** (attempt - 1);
        try {
            const res = await doFetch(url, {
                method: 'POST',
                headers: { 'content-type': 'application/json', 'user-agent': 'postgres-dr' },
                body: JSON.stringify(payload),
            });
            if (res.ok)
                return;
            const text = (await res.text().catch(() => '')).slice(0, 200).trim();
            err = new _github_client_js__WEBPACK_IMPORTED_MODULE_3__/* .HttpError */ .j$(`${LABEL} answered ${res.status}${text ? `: ${text}` : ''}`, res.status, text);
            const retryAfter = Number(res.headers.get('retry-after'));
            if (res.status !== 429)
                throw err;
            if (retryAfter > 60)
                throw new _github_client_js__WEBPACK_IMPORTED_MODULE_3__/* .HttpError */ .j$(`${err.message} (asked to retry after ${retryAfter}s: giving up)`, 429, text);
            if (retryAfter >= 0 && res.headers.has('retry-after'))
                waitMs = retryAfter * 1000;
        }
        catch (e) {
            if (e instanceof _github_client_js__WEBPACK_IMPORTED_MODULE_3__/* .HttpError */ .j$)
                throw e;
            err = new _github_client_js__WEBPACK_IMPORTED_MODULE_3__/* .HttpError */ .j$(`${LABEL} failed: ${(0,_util_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .describeError */ .Uc)(e)}`, null, '', { cause: e });
            if (!(0,_github_client_js__WEBPACK_IMPORTED_MODULE_3__/* .provablyNotDone */ .PS)(e))
                throw err;
        }
        if (attempt >= attempts)
            throw new _github_client_js__WEBPACK_IMPORTED_MODULE_3__/* .HttpError */ .j$(`${err.message} (gave up after ${attempts} attempts)`, err.status, err.serviceMessage);
        o.onRetry?.(`${err.message}; retrying (attempt ${attempt + 1} of ${attempts})`);
        await (0,node_timers_promises__WEBPACK_IMPORTED_MODULE_0__.setTimeout)(waitMs * scale);
    }
}


/***/ }),

/***/ 3265:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   proxyAwareFetch: () => (/* binding */ proxyAwareFetch)
/* harmony export */ });
/* harmony import */ var undici__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(6752);
/* harmony import */ var _proxy_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(796);
/**
 * fetch through the environment's proxy (see proxy.ts), for Octokit and webhooks. Node's own fetch
 * ignores HTTPS_PROXY unless node starts with NODE_USE_ENV_PROXY, which an action cannot choose; undici's
 * fetch with a ProxyAgent does the same work, one agent per proxy URL. Each attempt gets its own timeout.
 */


const agents = new Map();
function proxyAwareFetch(timeoutMs = 30_000) {
    return async (url, init = {}) => {
        const signal = init.signal
            ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)])
            : AbortSignal.timeout(timeoutMs);
        const proxy = (0,_proxy_js__WEBPACK_IMPORTED_MODULE_1__/* .proxyFor */ .i)(url);
        if (!proxy)
            return fetch(url, { ...init, signal });
        let dispatcher = agents.get(proxy);
        if (!dispatcher) {
            dispatcher = new undici__WEBPACK_IMPORTED_MODULE_0__/* .ProxyAgent */ .kT(proxy);
            agents.set(proxy, dispatcher);
        }
        // undici's Response is the same WHATWG shape as the global one.
        return (await (0,undici__WEBPACK_IMPORTED_MODULE_0__/* .fetch */ .hd)(url, { ...init, signal, dispatcher }));
    };
}


/***/ }),

/***/ 796:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   _: () => (/* binding */ proxyAgentsFor),
/* harmony export */   i: () => (/* binding */ proxyFor)
/* harmony export */ });
/* harmony import */ var http_proxy_agent__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(8947);
/* harmony import */ var https_proxy_agent__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1566);
/* harmony import */ var proxy_from_env__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8182);



/** The proxy URL for a request to `url`, or undefined to connect directly. */
function proxyFor(url) {
    return (0,proxy_from_env__WEBPACK_IMPORTED_MODULE_2__/* .getProxyForUrl */ .T)(url.toString()) || undefined;
}
/**
 * Node http(s) agents for requests to `url` when a proxy applies (for the AWS SDK's NodeHttpHandler):
 * an https:// target is tunnelled with CONNECT; an http:// one is sent to the proxy in absolute form,
 * which proxies that only allow CONNECT to port 443 still carry.
 */
function proxyAgentsFor(url) {
    const proxy = proxyFor(url);
    if (!proxy)
        return {};
    return new URL(url).protocol === 'http:'
        ? { httpAgent: new http_proxy_agent__WEBPACK_IMPORTED_MODULE_0__/* .HttpProxyAgent */ .s(proxy, { keepAlive: true }) }
        : { httpsAgent: new https_proxy_agent__WEBPACK_IMPORTED_MODULE_1__/* .HttpsProxyAgent */ .b(proxy, { keepAlive: true }) };
}


/***/ })

};
