export const id = 283;
export const ids = [283];
export const modules = {

/***/ 2358:
/***/ ((__unused_webpack_module, exports, __webpack_require__) => {

const { PutObjectCommand, ChecksumAlgorithm, CreateMultipartUploadCommand, AbortMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand, PutObjectTaggingCommand } = __webpack_require__(3711);
const { toEndpointV1, getEndpointFromInstructions } = __webpack_require__(2085);
const { extendedEncodeURIComponent } = __webpack_require__(3422);
const { EventEmitter } = __webpack_require__(4434);
const { Buffer } = __webpack_require__(181);
const { statSync, ReadStream } = __webpack_require__(3024);
const { Readable } = __webpack_require__(2203);

const runtimeConfigShared = {
    statSync: () => { },
    isFileReadStream(f) {
        return false;
    },
};

const runtimeConfig = {
    ...runtimeConfigShared,
    runtime: "node",
    statSync,
    isFileReadStream(f) {
        return f instanceof ReadStream;
    },
};

const byteLength = (input) => {
    if (input == null) {
        return 0;
    }
    if (typeof input === "string") {
        return Buffer.byteLength(input);
    }
    if (typeof input.byteLength === "number") {
        return input.byteLength;
    }
    else if (typeof input.length === "number") {
        return input.length;
    }
    else if (typeof input.size === "number") {
        return input.size;
    }
    else if (typeof input.start === "number" && typeof input.end === "number") {
        return input.end + 1 - input.start;
    }
    else if (runtimeConfig.isFileReadStream(input)) {
        try {
            return runtimeConfig.statSync(input.path).size;
        }
        catch (error) {
            return undefined;
        }
    }
    return undefined;
};

var BYTE_LENGTH_SOURCE;
(function (BYTE_LENGTH_SOURCE) {
    BYTE_LENGTH_SOURCE["EMPTY_INPUT"] = "a null or undefined Body";
    BYTE_LENGTH_SOURCE["CONTENT_LENGTH"] = "the ContentLength property of the params set by the caller";
    BYTE_LENGTH_SOURCE["STRING_LENGTH"] = "the encoded byte length of the Body string";
    BYTE_LENGTH_SOURCE["TYPED_ARRAY"] = "the byteLength of a typed byte array such as Uint8Array";
    BYTE_LENGTH_SOURCE["LENGTH"] = "the value of Body.length";
    BYTE_LENGTH_SOURCE["SIZE"] = "the value of Body.size";
    BYTE_LENGTH_SOURCE["START_END_DIFF"] = "the numeric difference between Body.start and Body.end";
    BYTE_LENGTH_SOURCE["STAT"] = "the size of the file given by Body.path on disk as reported by statSync";
})(BYTE_LENGTH_SOURCE || (BYTE_LENGTH_SOURCE = {}));
const byteLengthSource = (input, override) => {
    if (override != null) {
        return BYTE_LENGTH_SOURCE.CONTENT_LENGTH;
    }
    if (input == null) {
        return BYTE_LENGTH_SOURCE.EMPTY_INPUT;
    }
    if (typeof input === "string") {
        return BYTE_LENGTH_SOURCE.STRING_LENGTH;
    }
    if (typeof input.byteLength === "number") {
        return BYTE_LENGTH_SOURCE.TYPED_ARRAY;
    }
    else if (typeof input.length === "number") {
        return BYTE_LENGTH_SOURCE.LENGTH;
    }
    else if (typeof input.size === "number") {
        return BYTE_LENGTH_SOURCE.SIZE;
    }
    else if (typeof input.start === "number" && typeof input.end === "number") {
        return BYTE_LENGTH_SOURCE.START_END_DIFF;
    }
    else if (runtimeConfig.isFileReadStream(input)) {
        try {
            runtimeConfig.statSync(input.path).size;
            return BYTE_LENGTH_SOURCE.STAT;
        }
        catch (error) {
            return undefined;
        }
    }
    return undefined;
};

async function* getChunkStream(data, partSize, getNextData) {
    let partNumber = 1;
    const currentBuffer = { chunks: [], length: 0 };
    for await (const datum of getNextData(data)) {
        currentBuffer.chunks.push(datum);
        currentBuffer.length += datum.byteLength;
        while (currentBuffer.length > partSize) {
            const dataChunk = currentBuffer.chunks.length > 1 ? Buffer.concat(currentBuffer.chunks) : currentBuffer.chunks[0];
            yield {
                partNumber,
                data: dataChunk.subarray(0, partSize),
            };
            currentBuffer.chunks = [dataChunk.subarray(partSize)];
            currentBuffer.length = currentBuffer.chunks[0].byteLength;
            partNumber += 1;
        }
    }
    yield {
        partNumber,
        data: currentBuffer.chunks.length !== 1 ? Buffer.concat(currentBuffer.chunks) : currentBuffer.chunks[0],
        lastPart: true,
    };
}

async function* getChunkUint8Array(data, partSize) {
    let partNumber = 1;
    let startByte = 0;
    let endByte = partSize;
    while (endByte < data.byteLength) {
        yield {
            partNumber,
            data: data.subarray(startByte, endByte),
        };
        partNumber += 1;
        startByte = endByte;
        endByte = startByte + partSize;
    }
    yield {
        partNumber,
        data: data.subarray(startByte),
        lastPart: true,
    };
}

async function* getDataReadable(data) {
    for await (const chunk of data) {
        if (Buffer.isBuffer(chunk) || chunk instanceof Uint8Array) {
            yield chunk;
        }
        else {
            yield Buffer.from(chunk);
        }
    }
}

async function* getDataReadableStream(data) {
    const reader = data.getReader();
    try {
        while (true) {
            const { done, value } = await reader.read();
            if (done) {
                return;
            }
            if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
                yield value;
            }
            else {
                yield Buffer.from(value);
            }
        }
    }
    catch (e) {
        throw e;
    }
    finally {
        reader.releaseLock();
    }
}

const getChunk = (data, partSize) => {
    if (data instanceof Uint8Array) {
        return getChunkUint8Array(data, partSize);
    }
    if (data instanceof Readable) {
        return getChunkStream(data, partSize, getDataReadable);
    }
    if (data instanceof String || typeof data === "string") {
        return getChunkUint8Array(Buffer.from(data), partSize);
    }
    if (typeof data.stream === "function") {
        return getChunkStream(data.stream(), partSize, getDataReadableStream);
    }
    if (data instanceof ReadableStream) {
        return getChunkStream(data, partSize, getDataReadableStream);
    }
    throw new Error("Body Data is unsupported format, expected data to be one of: string | Uint8Array | Buffer | Readable | ReadableStream | Blob;.");
};

class Upload extends EventEmitter {
    static MIN_PART_SIZE = 1024 * 1024 * 5;
    MAX_PARTS = 10_000;
    queueSize = 4;
    partSize;
    leavePartsOnError = false;
    tags = [];
    client;
    params;
    totalBytes;
    totalBytesSource;
    bytesUploadedSoFar;
    abortController;
    concurrentUploaders = [];
    createMultiPartPromise;
    abortMultipartUploadCommand = null;
    uploadedParts = [];
    uploadEnqueuedPartsCount = 0;
    expectedPartsCount;
    uploadId;
    uploadEvent;
    isMultiPart = true;
    singleUploadResult;
    sent = false;
    constructor(options) {
        super();
        this.queueSize = options.queueSize || this.queueSize;
        this.leavePartsOnError = options.leavePartsOnError || this.leavePartsOnError;
        this.tags = options.tags || this.tags;
        this.client = options.client;
        this.params = options.params;
        if (!this.params) {
            throw new Error(`InputError: Upload requires params to be passed to upload.`);
        }
        this.totalBytes = this.params.ContentLength ?? byteLength(this.params.Body);
        this.totalBytesSource = byteLengthSource(this.params.Body, this.params.ContentLength);
        this.bytesUploadedSoFar = 0;
        this.abortController = options.abortController ?? new AbortController();
        this.partSize =
            options.partSize || Math.max(Upload.MIN_PART_SIZE, Math.ceil((this.totalBytes || 0) / this.MAX_PARTS));
        if (this.totalBytes !== undefined) {
            this.expectedPartsCount = Math.ceil(this.totalBytes / this.partSize);
        }
        this.__validateInput();
    }
    async abort() {
        this.abortController.abort();
    }
    async done() {
        if (this.sent) {
            throw new Error("@aws-sdk/lib-storage: this instance of Upload has already executed .done(). Create a new instance.");
        }
        this.sent = true;
        return await Promise.race([this.__doMultipartUpload(), this.__abortTimeout(this.abortController.signal)]);
    }
    on(event, listener) {
        this.uploadEvent = event;
        return super.on(event, listener);
    }
    async __uploadUsingPut(dataPart) {
        this.isMultiPart = false;
        const params = { ...this.params, Body: dataPart.data };
        const clientConfig = this.client.config;
        const requestHandler = clientConfig.requestHandler;
        const eventEmitter = requestHandler instanceof EventEmitter ? requestHandler : null;
        const uploadEventListener = (event) => {
            this.bytesUploadedSoFar = event.loaded;
            this.totalBytes = event.total;
            this.__notifyProgress({
                loaded: this.bytesUploadedSoFar,
                total: this.totalBytes,
                part: dataPart.partNumber,
                Key: this.params.Key,
                Bucket: this.params.Bucket,
            });
        };
        if (eventEmitter !== null) {
            eventEmitter.on("xhr.upload.progress", uploadEventListener);
        }
        const resolved = await Promise.all([this.client.send(new PutObjectCommand(params)), clientConfig?.endpoint?.()]);
        const putResult = resolved[0];
        let endpoint = resolved[1];
        if (!endpoint) {
            endpoint = toEndpointV1(await getEndpointFromInstructions(params, PutObjectCommand, {
                ...clientConfig,
            }));
        }
        if (!endpoint) {
            throw new Error('Could not resolve endpoint from S3 "client.config.endpoint()" nor EndpointsV2.');
        }
        if (eventEmitter !== null) {
            eventEmitter.off("xhr.upload.progress", uploadEventListener);
        }
        const locationKey = this.params
            .Key.split("/")
            .map((segment) => extendedEncodeURIComponent(segment))
            .join("/");
        const locationBucket = extendedEncodeURIComponent(this.params.Bucket);
        const Location = (() => {
            const endpointHostnameIncludesBucket = endpoint.hostname.startsWith(`${locationBucket}.`);
            const forcePathStyle = this.client.config.forcePathStyle;
            const optionalPort = endpoint.port ? `:${endpoint.port}` : ``;
            if (forcePathStyle) {
                return `${endpoint.protocol}//${endpoint.hostname}${optionalPort}/${locationBucket}/${locationKey}`;
            }
            if (endpointHostnameIncludesBucket) {
                return `${endpoint.protocol}//${endpoint.hostname}${optionalPort}/${locationKey}`;
            }
            return `${endpoint.protocol}//${locationBucket}.${endpoint.hostname}${optionalPort}/${locationKey}`;
        })();
        this.singleUploadResult = {
            ...putResult,
            Bucket: this.params.Bucket,
            Key: this.params.Key,
            Location,
        };
        const totalSize = byteLength(dataPart.data);
        this.__notifyProgress({
            loaded: totalSize,
            total: totalSize,
            part: 1,
            Key: this.params.Key,
            Bucket: this.params.Bucket,
        });
    }
    async __createMultipartUpload() {
        const requestChecksumCalculation = await this.client.config.requestChecksumCalculation();
        if (!this.createMultiPartPromise) {
            const createCommandParams = { ...this.params, Body: undefined };
            if (requestChecksumCalculation === "WHEN_SUPPORTED") {
                createCommandParams.ChecksumAlgorithm = this.params.ChecksumAlgorithm || ChecksumAlgorithm.CRC32;
            }
            this.createMultiPartPromise = this.client
                .send(new CreateMultipartUploadCommand(createCommandParams))
                .then((createMpuResponse) => {
                this.abortMultipartUploadCommand = new AbortMultipartUploadCommand({
                    Bucket: this.params.Bucket,
                    Key: this.params.Key,
                    UploadId: createMpuResponse.UploadId,
                });
                return createMpuResponse;
            });
        }
        return this.createMultiPartPromise;
    }
    async __doConcurrentUpload(dataFeeder) {
        for await (const dataPart of dataFeeder) {
            if (this.uploadEnqueuedPartsCount > this.MAX_PARTS) {
                throw new Error(`Exceeded ${this.MAX_PARTS} parts in multipart upload to Bucket: ${this.params.Bucket} Key: ${this.params.Key}.`);
            }
            if (this.abortController.signal.aborted) {
                return;
            }
            if (dataPart.partNumber === 1 && dataPart.lastPart) {
                return await this.__uploadUsingPut(dataPart);
            }
            if (!this.uploadId) {
                const { UploadId } = await this.__createMultipartUpload();
                this.uploadId = UploadId;
                if (this.abortController.signal.aborted) {
                    return;
                }
            }
            const partSize = byteLength(dataPart.data) || 0;
            const requestHandler = this.client.config.requestHandler;
            const eventEmitter = requestHandler instanceof EventEmitter ? requestHandler : null;
            let lastSeenBytes = 0;
            const uploadEventListener = (event, request) => {
                const requestPartSize = Number(request.query["partNumber"]) || -1;
                if (requestPartSize !== dataPart.partNumber) {
                    return;
                }
                if (event.total && partSize) {
                    this.bytesUploadedSoFar += event.loaded - lastSeenBytes;
                    lastSeenBytes = event.loaded;
                }
                this.__notifyProgress({
                    loaded: this.bytesUploadedSoFar,
                    total: this.totalBytes,
                    part: dataPart.partNumber,
                    Key: this.params.Key,
                    Bucket: this.params.Bucket,
                });
            };
            if (eventEmitter !== null) {
                eventEmitter.on("xhr.upload.progress", uploadEventListener);
            }
            this.uploadEnqueuedPartsCount += 1;
            this.__validateUploadPart(dataPart);
            const partResult = await this.client.send(new UploadPartCommand({
                ...this.params,
                ContentLength: undefined,
                UploadId: this.uploadId,
                Body: dataPart.data,
                PartNumber: dataPart.partNumber,
            }));
            if (eventEmitter !== null) {
                eventEmitter.off("xhr.upload.progress", uploadEventListener);
            }
            if (this.abortController.signal.aborted) {
                return;
            }
            if (!partResult.ETag) {
                throw new Error(`Part ${dataPart.partNumber} is missing ETag in UploadPart response. Missing Bucket CORS configuration for ETag header?`);
            }
            this.uploadedParts.push({
                PartNumber: dataPart.partNumber,
                ETag: partResult.ETag,
                ...(partResult.ChecksumCRC32 && { ChecksumCRC32: partResult.ChecksumCRC32 }),
                ...(partResult.ChecksumCRC32C && { ChecksumCRC32C: partResult.ChecksumCRC32C }),
                ...(partResult.ChecksumCRC64NVME && { ChecksumCRC64NVME: partResult.ChecksumCRC64NVME }),
                ...(partResult.ChecksumSHA1 && { ChecksumSHA1: partResult.ChecksumSHA1 }),
                ...(partResult.ChecksumSHA256 && { ChecksumSHA256: partResult.ChecksumSHA256 }),
            });
            if (eventEmitter === null) {
                this.bytesUploadedSoFar += partSize;
            }
            this.__notifyProgress({
                loaded: this.bytesUploadedSoFar,
                total: this.totalBytes,
                part: dataPart.partNumber,
                Key: this.params.Key,
                Bucket: this.params.Bucket,
            });
        }
    }
    async __doMultipartUpload() {
        const dataFeeder = getChunk(this.params.Body, this.partSize);
        const concurrentUploaderFailures = [];
        for (let index = 0; index < this.queueSize; index++) {
            const currentUpload = this.__doConcurrentUpload(dataFeeder).catch((err) => {
                concurrentUploaderFailures.push(err);
            });
            this.concurrentUploaders.push(currentUpload);
        }
        await Promise.all(this.concurrentUploaders);
        if (concurrentUploaderFailures.length >= 1) {
            await this.markUploadAsAborted();
            throw concurrentUploaderFailures[0];
        }
        if (this.abortController.signal.aborted) {
            await this.markUploadAsAborted();
            throw Object.assign(new Error("Upload aborted."), { name: "AbortError" });
        }
        let result;
        if (this.isMultiPart) {
            const { expectedPartsCount, uploadedParts, totalBytes, totalBytesSource } = this;
            if (totalBytes !== undefined && expectedPartsCount !== undefined && uploadedParts.length !== expectedPartsCount) {
                await this.markUploadAsAborted();
                throw new Error(`Expected ${expectedPartsCount} part(s) but uploaded ${uploadedParts.length} part(s).
The expected part count is based on the byte-count of the input.params.Body,
which was read from ${totalBytesSource} and is ${totalBytes}.
If this is not correct, provide an override value by setting a number
to input.params.ContentLength in bytes.
`);
            }
            this.uploadedParts.sort((a, b) => a.PartNumber - b.PartNumber);
            const uploadCompleteParams = {
                ...this.params,
                Body: undefined,
                UploadId: this.uploadId,
                MultipartUpload: {
                    Parts: this.uploadedParts,
                },
            };
            try {
                result = await this.client.send(new CompleteMultipartUploadCommand(uploadCompleteParams));
            }
            catch (e) {
                await this.markUploadAsAborted().catch((abortError) => {
                    if (e instanceof Error && e.cause === undefined) {
                        e.cause = abortError;
                    }
                });
                throw e;
            }
            if (typeof result?.Location === "string" && result.Location.includes("%2F")) {
                result.Location = result.Location.replace(/%2F/g, "/");
            }
        }
        else {
            result = this.singleUploadResult;
        }
        this.abortMultipartUploadCommand = null;
        if (this.tags.length) {
            await this.client.send(new PutObjectTaggingCommand({
                ...this.params,
                Tagging: {
                    TagSet: this.tags,
                },
            }));
        }
        return result;
    }
    async markUploadAsAborted() {
        if (this.uploadId && !this.leavePartsOnError && null !== this.abortMultipartUploadCommand) {
            await this.client.send(this.abortMultipartUploadCommand);
            this.abortMultipartUploadCommand = null;
        }
    }
    __notifyProgress(progress) {
        if (this.uploadEvent) {
            this.emit(this.uploadEvent, progress);
        }
    }
    async __abortTimeout(abortSignal) {
        return new Promise((resolve, reject) => {
            abortSignal.onabort = () => {
                const abortError = new Error("Upload aborted.");
                abortError.name = "AbortError";
                reject(abortError);
            };
        });
    }
    __validateUploadPart(dataPart) {
        const actualPartSize = byteLength(dataPart.data);
        if (actualPartSize === undefined) {
            throw new Error(`A dataPart was generated without a measurable data chunk size for part number ${dataPart.partNumber}`);
        }
        if (dataPart.partNumber === 1 && dataPart.lastPart) {
            return;
        }
        if (!dataPart.lastPart && actualPartSize !== this.partSize) {
            throw new Error(`The byte size for part number ${dataPart.partNumber}, size ${actualPartSize} does not match expected size ${this.partSize}`);
        }
    }
    __validateInput() {
        if (!this.client) {
            throw new Error(`InputError: Upload requires a AWS client to do uploads with.`);
        }
        if (this.partSize < Upload.MIN_PART_SIZE) {
            throw new Error(`EntityTooSmall: Your proposed upload part size [${this.partSize}] is smaller than the minimum allowed size [${Upload.MIN_PART_SIZE}] (5MB)`);
        }
        if (this.queueSize < 1) {
            throw new Error(`Queue size: Must have at least one uploading queue.`);
        }
    }
}

exports._ = Upload;


/***/ }),

/***/ 7283:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   MAX_PARTS: () => (/* binding */ MAX_PARTS),
/* harmony export */   MAX_READ_RESUMES: () => (/* binding */ MAX_READ_RESUMES),
/* harmony export */   MIN_PART_SIZE: () => (/* binding */ MIN_PART_SIZE),
/* harmony export */   S3Storage: () => (/* binding */ S3Storage),
/* harmony export */   createS3Client: () => (/* binding */ createS3Client),
/* harmony export */   explainS3Error: () => (/* binding */ explainS3Error),
/* harmony export */   objectLockParams: () => (/* binding */ objectLockParams),
/* harmony export */   partSizeFor: () => (/* binding */ partSizeFor)
/* harmony export */ });
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7075);
/* harmony import */ var node_stream__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_stream__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_stream_promises__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6466);
/* harmony import */ var node_stream_promises__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_stream_promises__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_timers_promises__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8500);
/* harmony import */ var node_timers_promises__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_timers_promises__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(3711);
/* harmony import */ var _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(2358);
/* harmony import */ var _util_errors_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(17);
/* harmony import */ var _util_proxy_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(796);
/* harmony import */ var _pipeline_streams_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(7275);
/* harmony import */ var _types_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(3740);









const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
/** Times one read resumes after its body was cut short (the SDK itself retries only until the headers). */
const MAX_READ_RESUMES = 5;
/**
 * The part size for an upload of about `expectedSize` bytes: S3's minimum of 5 MiB, or larger so that
 * even twice the expected size stays under S3's 10 000-part limit. 5 MiB parts carry objects up to
 * ~48 GiB; the backup passes the database's size on disk, so a 25 GiB database still gets 5 MiB parts and
 * a 1 TiB one 205 MiB parts (memory grows with the part size: about 5 parts are held at once).
 */
function partSizeFor(expectedSize) {
    const MiB = 1024 * 1024;
    if (!expectedSize || expectedSize <= 0)
        return MIN_PART_SIZE;
    const needed = Math.ceil((expectedSize * 2) / MAX_PARTS);
    return Math.max(MIN_PART_SIZE, Math.ceil(needed / MiB) * MiB);
}
function createS3Client(o) {
    const endpoint = o.endpoint || process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
    const region = o.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
    const config = {
        region,
        forcePathStyle: o.forcePathStyle ?? Boolean(endpoint),
        maxAttempts: o.maxAttempts ?? 5,
        retryMode: 'standard',
    };
    if (endpoint) {
        config.endpoint = endpoint;
        // Many S3-compatible servers do not understand the SDK's default flexible checksums (aws-chunked
        // with trailers); send checksums only where an operation requires one.
        config.requestChecksumCalculation = 'WHEN_REQUIRED';
        config.responseChecksumValidation = 'WHEN_REQUIRED';
    }
    // HTTPS_PROXY / HTTP_PROXY / NO_PROXY, matched against the endpoint (or the region's AWS host): the SDK
    // itself reads none of them.
    const agents = (0,_util_proxy_js__WEBPACK_IMPORTED_MODULE_5__/* .proxyAgentsFor */ ._)(endpoint ?? `https://s3.${region}.amazonaws.com`);
    if (agents.httpAgent || agents.httpsAgent)
        config.requestHandler = agents;
    const client = new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_8__.S3Client(config);
    // Outermost (after the SDK's retries): set-up mistakes become errors that say which setting to change.
    client.middlewareStack.add((next) => async (args) => {
        try {
            return await next(args);
        }
        catch (err) {
            throw explainS3Error(err, { region, regionInput: o.regionInput ?? 's3-region' });
        }
    }, { step: 'initialize', name: 'pgdrExplainErrors' });
    return client;
}
/**
 * A set-up mistake the SDK reports in its own terms, as a UserError naming the fix; any other error as is.
 * - no credentials ("Could not load credentials from any providers"): the two ways to give them;
 * - a bucket in another region (301 PermanentRedirect, AuthorizationHeaderMalformed, IllegalLocationConstraint):
 *   the region input, with the bucket's region when S3 said it.
 */
function explainS3Error(err, o) {
    const e = err;
    if (!e || typeof e !== 'object')
        return err;
    if (e.name === 'CredentialsProviderError' || /Could not load credentials from any providers/.test(e.message ?? '')) {
        return new _util_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .UserError */ .yo('no AWS credentials were found. Give them one of two ways: as secrets in the job’s environment ' +
            '(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY under the job’s env:, where a later OIDC step can still ' +
            'replace them — never as a step env: that blanks them), or by OIDC: an earlier step ' +
            'aws-actions/configure-aws-credentials with role-to-assume (the workflows’ aws-role-arn input) and ' +
            'permissions: id-token: write', { cause: err });
    }
    const status = e.$metadata?.httpStatusCode;
    const name = e.name ?? '';
    const redirected = status === 301 ||
        name === 'PermanentRedirect' ||
        name === 'AuthorizationHeaderMalformed' ||
        name === 'IllegalLocationConstraintException';
    if (!redirected)
        return err;
    const bucketRegion = e.Region ?? e.$response?.headers?.['x-amz-bucket-region'] ?? /expecting '([a-z0-9-]+)'/.exec(e.message ?? '')?.[1];
    return new _util_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .UserError */ .yo(`the bucket is not in region '${o.region}' (S3 answered ${name || status}` +
        `${bucketRegion ? `; the bucket is in '${bucketRegion}'` : ''}): set '${o.regionInput}' to the bucket's region` +
        `${bucketRegion ? ` (${o.regionInput}: ${bucketRegion})` : ''}`, { cause: err });
}
/**
 * S3 Object Lock retention for one upload. AWS refuses a locked PutObject/UploadPart without an
 * integrity checksum (Content-MD5 or x-amz-checksum-*), and with a custom endpoint the client computes
 * checksums only when required: ask for CRC32 explicitly on those uploads.
 */
function objectLockParams(retainUntil) {
    if (!retainUntil)
        return {};
    return { ObjectLockMode: retainUntil.mode, ObjectLockRetainUntilDate: retainUntil.date, ChecksumAlgorithm: 'CRC32' };
}
function isNotFound(err) {
    const e = err;
    return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
class S3Storage {
    options;
    location;
    client;
    bucket;
    constructor(options) {
        this.options = options;
        this.bucket = options.bucket;
        this.location = `s3://${options.bucket}`;
        this.client = options.client ?? createS3Client(options);
    }
    async probe() {
        try {
            await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_8__.HeadBucketCommand({ Bucket: this.bucket }));
        }
        catch (err) {
            if (err instanceof _util_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .UserError */ .yo)
                throw err; // already names the setting to change
            const e = err;
            const status = e.$metadata?.httpStatusCode;
            const why = status === 404
                ? 'the bucket does not exist'
                : status === 403
                    ? 'access denied (check the credentials and the bucket policy)'
                    : `${e.name ?? 'error'}: ${e.message ?? ''}`.trim();
            throw new Error(`cannot reach ${this.location}: ${why}`, { cause: err });
        }
    }
    async list(prefix) {
        const out = [];
        let token;
        do {
            const page = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_8__.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
            for (const o of page.Contents ?? []) {
                if (o.Key === undefined)
                    continue;
                out.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
            }
            if (page.IsTruncated && !page.NextContinuationToken) {
                throw new Error(`listing of s3://${this.bucket}/${prefix} was truncated without a continuation token`);
            }
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
        return out;
    }
    async head(key) {
        try {
            const r = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_8__.HeadObjectCommand({ Bucket: this.bucket, Key: key }));
            return { key, size: r.ContentLength ?? 0, lastModified: r.LastModified ?? new Date(0) };
        }
        catch (err) {
            if (isNotFound(err))
                return null;
            throw err;
        }
    }
    /**
     * The object's bytes from `start`. A body cut short by the network (reset, or fewer bytes than the
     * Content-Length) is resumed with a Range request from the last byte received, pinned to the same
     * object by If-Match on its ETag, up to MAX_READ_RESUMES times; the SDK retries only until the headers.
     */
    async read(key, options = {}) {
        const start = options.start ?? 0;
        const first = await this.getObject(key, start, undefined, options.signal);
        return node_stream__WEBPACK_IMPORTED_MODULE_0__.Readable.from(this.resumingBody(key, first, start, options.signal), { objectMode: false });
    }
    async getObject(key, start, etag, signal) {
        const r = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_8__.GetObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Range: start ? `bytes=${start}-` : undefined,
            IfMatch: etag,
        }), { abortSignal: signal });
        if (!r.Body)
            throw new Error(`s3://${this.bucket}/${key} has no body`);
        return r;
    }
    async *resumingBody(key, first, start, signal) {
        const etag = first.ETag;
        const end = first.ContentLength === undefined ? undefined : start + first.ContentLength;
        let offset = start;
        let body = first.Body;
        for (let resumes = 0;; resumes++) {
            let failure;
            try {
                for await (const chunk of body) {
                    offset += chunk.length;
                    yield chunk;
                }
                if (end === undefined || offset >= end)
                    return;
                failure = new Error(`the body ended after ${offset} of ${end} bytes`);
            }
            catch (err) {
                if (signal?.aborted || (end !== undefined && offset >= end))
                    throw err;
                failure = err;
            }
            body.destroy();
            const where = `s3://${this.bucket}/${key}`;
            if (resumes >= MAX_READ_RESUMES) {
                throw new Error(`reading ${where} failed at byte ${offset}${end === undefined ? '' : ` of ${end}`} after ${resumes} resumed read(s): ${failure?.message ?? failure}`, { cause: failure });
            }
            await (0,node_timers_promises__WEBPACK_IMPORTED_MODULE_2__.setTimeout)(100 * (resumes + 1), undefined, { signal });
            const next = await this.getObject(key, offset, etag, signal);
            if (etag && next.ETag && next.ETag !== etag) {
                next.Body.destroy();
                throw new Error(`${where} changed while it was being read (ETag ${etag} became ${next.ETag})`);
            }
            body = next.Body;
        }
    }
    async readText(key) {
        const chunks = [];
        for await (const chunk of await this.read(key))
            chunks.push(chunk);
        return Buffer.concat(chunks).toString('utf8');
    }
    sseParams() {
        if (!this.options.sse)
            return {};
        return {
            ServerSideEncryption: this.options.sse,
            ...(this.options.sseKmsKeyId ? { SSEKMSKeyId: this.options.sseKmsKeyId } : {}),
        };
    }
    async write(key, body, options = {}) {
        // Counted on the way in; the body is consumed only by the upload (a second 'data' consumer would
        // switch it to flowing mode and defeat backpressure).
        const meter = new _pipeline_streams_js__WEBPACK_IMPORTED_MODULE_6__/* .Meter */ .kI();
        const counted = (0,node_stream_promises__WEBPACK_IMPORTED_MODULE_1__.pipeline)(body, meter);
        counted.catch(() => { });
        const upload = new _aws_sdk_lib_storage__WEBPACK_IMPORTED_MODULE_3__/* .Upload */ ._({
            client: this.client,
            params: {
                Bucket: this.bucket,
                Key: key,
                Body: meter,
                ContentType: options.contentType ?? 'application/octet-stream',
                ...this.sseParams(),
                ...objectLockParams(options.retainUntil),
            },
            // Memory is about (queueSize + 2) × partSize. Two 5 MiB parts in flight outrun the compressed stream
            // (~60-80 MB/s on 2 cores) and keep a backup under 150 MB RSS.
            queueSize: this.options.queueSize ?? 2,
            partSize: this.options.partSize ?? partSizeFor(options.expectedSize),
            leavePartsOnError: false,
        });
        const onAbort = () => {
            void upload.abort().catch(() => { });
        };
        options.signal?.addEventListener('abort', onAbort, { once: true });
        // If the body fails, lib-storage's reader throws and the upload aborts its multipart upload.
        let bodyError;
        counted.catch((err) => {
            bodyError = err;
            // If the body fails, lib-storage sees a failed stream and aborts its multipart upload.
        });
        try {
            await upload.done();
            await counted;
        }
        catch (err) {
            await upload.abort().catch(() => { });
            // upload.abort() settles before lib-storage's own clean-up has run (or while a CreateMultipartUpload
            // is still in flight), and the process may exit right after: abort whatever is left for this key.
            await this.abortIncompleteUploads(key);
            // A body destroyed with an AbortError was stopped by the upload giving up (lib-storage ends its read
            // of the body early): the upload's error is the cause.
            throw bodyError !== undefined && !(0,_util_errors_js__WEBPACK_IMPORTED_MODULE_4__/* .isAbortError */ .zf)(bodyError) ? bodyError : err;
        }
        finally {
            options.signal?.removeEventListener('abort', onAbort);
        }
        return { size: meter.bytes };
    }
    async writeText(key, text, options = {}) {
        await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_8__.PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: text,
            ContentType: key.endsWith('.json') ? 'application/json' : 'text/plain',
            ...this.sseParams(),
            ...objectLockParams(options.retainUntil),
        }), { abortSignal: options.signal });
    }
    async writeTextIfAbsent(key, text) {
        try {
            await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_8__.PutObjectCommand({
                Bucket: this.bucket,
                Key: key,
                Body: text,
                ContentType: 'application/json',
                IfNoneMatch: '*',
                ...this.sseParams(),
            }));
            return true;
        }
        catch (err) {
            const e = err;
            if (e.$metadata?.httpStatusCode === 412 || e.name === 'PreconditionFailed')
                return false;
            // 409 ConditionalRequestConflict: a concurrent conditional write to the same key won.
            if (e.$metadata?.httpStatusCode === 409)
                return false;
            throw err;
        }
    }
    async delete(keys) {
        const deleted = [];
        const failed = [];
        for (let i = 0; i < keys.length; i += 1000) {
            const batch = keys.slice(i, i + 1000);
            const r = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_8__.DeleteObjectsCommand({
                Bucket: this.bucket,
                Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: false },
            }));
            const errored = new Set();
            for (const e of r.Errors ?? []) {
                errored.add(e.Key ?? '');
                failed.push({ key: e.Key ?? '?', code: e.Code ?? 'Error', message: e.Message ?? '' });
            }
            for (const k of batch)
                if (!errored.has(k))
                    deleted.push(k);
        }
        if (failed.length) {
            throw new _types_js__WEBPACK_IMPORTED_MODULE_7__/* .DeleteError */ .G(`could not delete ${failed.length} object(s): ${failed
                .slice(0, 5)
                .map((f) => `${f.key} (${f.code})`)
                .join(', ')}${failed.length > 5 ? ', …' : ''}`, deleted, failed);
        }
        return { deleted };
    }
    /** Aborts every unfinished multipart upload of exactly `key`; best effort (used on failure paths). */
    async abortIncompleteUploads(key) {
        await new Promise((r) => setTimeout(r, 250));
        try {
            for (const u of await this.listIncompleteUploads(key)) {
                if (u.key !== key)
                    continue;
                await this.client
                    .send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_8__.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: u.uploadId }))
                    .catch(() => { });
            }
        }
        catch {
            // Listing uploads may be denied or unsupported; lib-storage has already tried to abort.
        }
    }
    async listIncompleteUploads(prefix) {
        const out = [];
        let keyMarker;
        let uploadIdMarker;
        do {
            const r = await this.client.send(new _aws_sdk_client_s3__WEBPACK_IMPORTED_MODULE_8__.ListMultipartUploadsCommand({
                Bucket: this.bucket,
                Prefix: prefix,
                KeyMarker: keyMarker,
                UploadIdMarker: uploadIdMarker,
            }));
            for (const u of r.Uploads ?? []) {
                if (u.Key && u.UploadId)
                    out.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated });
            }
            keyMarker = r.IsTruncated ? r.NextKeyMarker : undefined;
            uploadIdMarker = r.IsTruncated ? r.NextUploadIdMarker : undefined;
        } while (keyMarker);
        return out;
    }
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
