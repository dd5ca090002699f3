export const id = 265;
export const ids = [265];
export const modules = {

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
