export { defineBox, type BoxDefinition, type BoxMethod, type CallContext, type ClientInfo, type RoomDefinition } from './define-box.js';
export { Box } from './box.js';
export { getBox, loadedBoxes } from './box-registry.js';
