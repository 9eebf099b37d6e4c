import { Global, Module } from '@nestjs/common';
import { DeviceList } from './device-list.service';

/** The user's devices as a person reads them (`GET /sessions`, the `/sessions` page). */
@Global()
@Module({ providers: [DeviceList], exports: [DeviceList] })
export class DevicesModule {}
